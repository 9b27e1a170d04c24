/**
 * Whether an error from a Redis call (ioredis, or BullMQ on it) means Redis cannot be reached right
 * now. Apply it to errors of Redis calls only: a refused connection means "the queue is down" only there.
 */

// ioredis's classes (their `name` is the class name): a command given up after the connection's
// retries (MaxRetriesPerRequestError) or aborted because the connection closed (AbortError, from
// redis-errors, which ioredis uses for "Command aborted due to connection close").
const connectionErrorNames = new Set(['MaxRetriesPerRequestError', 'AbortError']);

// Node's codes for a socket that could not connect or was cut.
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

// ioredis rejects commands on a closed connection ("Connection is closed.") and on one that is down
// while its offline queue is off ("Stream isn't writeable and enableOfflineQueue options is false")
// with plain Errors, no code or class: their message is all there is to go by.
const ioredisPlainMessages =
  /^(Connection is closed\.|Stream isn't writeable and enableOfflineQueue options is false)$/;

interface ErrorFields {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
}

function saysUnavailable(error: ErrorFields): boolean {
  if (typeof error.name === 'string' && connectionErrorNames.has(error.name)) return true;
  if (typeof error.code === 'string' && socketCodes.has(error.code)) return true;
  return typeof error.message === 'string' && ioredisPlainMessages.test(error.message);
}

export function isQueueUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let current = error; current !== null && typeof current === 'object' && !seen.has(current);) {
    seen.add(current);
    if (saysUnavailable(current)) return true;
    current = (current as ErrorFields).cause;
  }
  return false;
}
