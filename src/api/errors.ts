import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { SpecIssue } from '../domain/job-spec.js';

/** An error meant for the client: an HTTP status, a stable code and a human message. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: SpecIssue[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} was not found`);

export interface ErrorBody {
  error: string;
  code: string;
  issues?: SpecIssue[];
}

// Fastify's own client errors (body parsing, limits, content types) keep their status with a stable code.
const fastifyCodes: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

const unreachable =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|connection (is )?(closed|terminated|refused)|terminating connection|Can't reach database|timed out fetching a new connection|the database system is (starting up|shutting down)|Stream isn't writeable|MaxRetriesPerRequest/i;

/** Which dependency an error says is unreachable, if any. */
export function unavailableDependency(error: unknown): 'database' | 'queue' | null {
  const seen = new Set<unknown>();
  for (let current = error; current && !seen.has(current); current = (current as { cause?: unknown }).cause) {
    seen.add(current);
    const { message = '', code = '', name = '' } = current as { message?: string; code?: string; name?: string };
    if (['P1001', 'P1002', 'P1017', 'P2024'].includes(code)) return 'database';
    if (unreachable.test(`${code} ${message}`)) {
      return /redis|stream isn't writeable|MaxRetriesPerRequest/i.test(`${name} ${message}`) ? 'queue' : 'database';
    }
  }
  return null;
}

/** The one place an error becomes an HTTP response. Clients never see a stack trace. */
export function errorHandler(error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof ApiError) {
    const body: ErrorBody = {
      error: error.message,
      code: error.code,
      ...(error.issues ? { issues: error.issues } : {}),
    };
    void reply.status(error.statusCode).send(body);
    return;
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code = fastifyCodes[error.code] ?? (error instanceof SyntaxError ? 'invalid_json' : 'bad_request');
    const message =
      status === 413
        ? `request body is larger than the limit of ${request.routeOptions.bodyLimit ?? 'the server'} bytes`
        : error.message;
    void reply.status(status).send({ error: message, code } satisfies ErrorBody);
    return;
  }
  const dependency = unavailableDependency(error);
  if (dependency) {
    request.log.warn({ err: error }, `${dependency} unavailable`);
    const what = dependency === 'database' ? 'the database (Postgres)' : 'the queue (Redis)';
    void reply
      .status(503)
      .header('retry-after', '5')
      .send({
        error: `${what} is unavailable right now; try again shortly`,
        code: `${dependency}_unavailable`,
      } satisfies ErrorBody);
    return;
  }
  request.log.error({ err: error }, 'request failed');
  void reply
    .status(500)
    .send({ error: 'internal error; the server logged the details', code: 'internal_error' } satisfies ErrorBody);
}
