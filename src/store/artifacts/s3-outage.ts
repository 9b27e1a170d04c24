/**
 * Whether an error of an S3 call means the store cannot serve this server right now (down, refusing
 * our credentials, missing its bucket), as opposed to one request that is wrong. By the SDK's error
 * names, HTTP statuses and Node's socket codes, never by message text.
 */

// Answers of a store that is there but will not serve us: the bucket is missing, the credentials are
// wrong or lack rights, or the store says it is busy.
const unavailableNames = new Set([
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'TimeoutError',
]);

// Node's codes for a socket that could not connect or was cut.
const socketCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

interface S3ErrorFields {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The error and its `cause` chain, each once. */
function* chain(error: unknown): Generator<S3ErrorFields> {
  const seen = new Set<unknown>();
  for (let current = error; current !== null && typeof current === 'object' && !seen.has(current);) {
    seen.add(current);
    yield current;
    current = (current as S3ErrorFields).cause;
  }
}

/** A short reason for the outage `error` shows, or null when it shows none. */
export function s3OutageReason(error: unknown): string | null {
  for (const fields of chain(error)) {
    if (typeof fields.name === 'string' && unavailableNames.has(fields.name)) return fields.name;
    if (typeof fields.code === 'string' && socketCodes.has(fields.code)) return fields.code;
    const status = fields.$metadata?.httpStatusCode;
    if (typeof status === 'number' && (status === 401 || status === 403 || status >= 500)) return `HTTP ${status}`;
  }
  return null;
}

/** Whether `error` is S3's "no such key": an object that is not there. */
export function isMissingObject(error: unknown): boolean {
  const fields = error as S3ErrorFields | null;
  return fields?.name === 'NoSuchKey' || (fields?.name === 'NotFound' && fields.$metadata?.httpStatusCode === 404);
}
