/**
 * Whether an error from a Postgres call (through Prisma and @prisma/adapter-pg, or pg itself) means
 * the database cannot be reached right now, as opposed to a query that is wrong. Apply it to errors
 * of database calls only: a refused connection means "the database is down" only there.
 */

// Prisma's own codes for "cannot reach", "timed out", "connection closed", "pool timeout".
const prismaCodes = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);

// The kinds @prisma/adapter-pg gives a driver error it recognises (DriverAdapterError's cause.kind).
const adapterKinds = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);

// Postgres SQLSTATEs: 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now,
// 53300 too many connections; the whole class 08 (connection exception) is matched by prefix.
const sqlStates = new Set(['57P01', '57P02', '57P03', '53300']);

// Node's codes for a socket that could not connect or was cut.
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

// pg reports a connection that ended under a query ("Connection terminated unexpectedly",
// "Connection terminated due to connection timeout" from pg-pool), a query on a client whose
// connection has already ended ("... is not queryable") and a pool that could not connect
// in time as plain Errors with no code or class, and @prisma/adapter-pg passes such errors on as
// they are: their message is all there is to go by.
const pgPlainMessages =
  /^(Connection terminated\b|timeout exceeded when trying to connect$|Client has encountered a connection error and is not queryable$|Client was closed and is not queryable$)/;

interface ErrorFields {
  code?: unknown;
  name?: unknown;
  message?: unknown;
  cause?: unknown;
  kind?: unknown;
  originalCode?: unknown;
  meta?: { driverAdapterError?: unknown };
}

const isSqlStateDown = (code: unknown) => typeof code === 'string' && (code.startsWith('08') || sqlStates.has(code));

function saysUnavailable(error: ErrorFields): boolean {
  if (typeof error.code === 'string' && (prismaCodes.has(error.code) || socketCodes.has(error.code))) return true;
  // A pg DatabaseError carries the SQLSTATE as `code`; a DriverAdapterError's cause carries the kind
  // and, for errors of Postgres itself, the SQLSTATE as `originalCode`.
  if (isSqlStateDown(error.code)) return true;
  if (typeof error.kind === 'string' && adapterKinds.has(error.kind)) return true;
  if (isSqlStateDown(error.originalCode)) return true;
  return typeof error.message === 'string' && pgPlainMessages.test(error.message);
}

/** The error, its `cause` chain and any driver adapter error Prisma attached as `meta`, each once. */
function* related(error: unknown): Generator<ErrorFields> {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const current = pending.shift();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const fields = current as ErrorFields;
    yield fields;
    pending.push(fields.cause, fields.meta?.driverAdapterError);
  }
}

export function isDatabaseUnavailable(error: unknown): boolean {
  for (const fields of related(error)) if (saysUnavailable(fields)) return true;
  return false;
}
