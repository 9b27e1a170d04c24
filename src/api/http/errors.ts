import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  ArtifactStoreUnavailable,
  DependencyUnavailable,
  DomainError,
  RateLimited,
  type ErrorKind,
} from '../../domain/errors.js';
import type { ErrorBody } from './common-schemas.js';
import { rateLimitHeaders } from './quotas.js';
import { requestValidationError } from './validation.js';

export type { ErrorBody };

/** The HTTP status of each kind of domain error: the one place that knows (a new error needs no edit here). */
const statusOfKind: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unprocessable: 422,
  too_many_requests: 429,
  unavailable: 503,
};

function bodyOf(error: DomainError): ErrorBody {
  const { issues } = error;
  // The store is named on its own too, so a client or an alert can tell which one is down.
  const store = error instanceof ArtifactStoreUnavailable ? { store: error.store } : {};
  return { error: error.message, code: error.code, ...(issues ? { issues: [...issues] } : {}), ...store };
}

function sendDomainError(error: DomainError, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof DependencyUnavailable)
    request.log.warn({ err: error.cause ?? error }, `${error.dependency} unavailable`);
  if (error instanceof ArtifactStoreUnavailable)
    request.log.warn({ err: error.cause ?? error, store: error.store }, 'artifact store unavailable');
  if (error.retryAfterSeconds !== undefined) void reply.header('retry-after', String(error.retryAfterSeconds));
  if (error instanceof RateLimited) {
    void reply.headers(rateLimitHeaders({ limit: error.max, remaining: 0, resetSeconds: error.retryAfterSeconds }));
  }
  if (error.kind === 'unauthenticated') void reply.header('www-authenticate', 'Bearer realm="trainer"');
  void reply.status(statusOfKind[error.kind]).send(bodyOf(error));
}

/** An answer for a route that does not exist. */
export function routeNotFound(request: FastifyRequest, reply: FastifyReply): void {
  const body: ErrorBody = {
    error: `route ${request.method} ${request.url.split('?')[0]} was not found`,
    code: 'not_found',
  };
  void reply.status(404).send(body);
}

// Fastify's own client errors (body parsing, limits, content types) keep their status with a stable code.
const fastifyCodes: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

function sendClientError(error: FastifyError, status: number, request: FastifyRequest, reply: FastifyReply): void {
  const code = fastifyCodes[error.code] ?? (error instanceof SyntaxError ? 'invalid_json' : 'bad_request');
  const message =
    status === 413
      ? `request body is larger than the limit of ${request.routeOptions.bodyLimit ?? 'the server'} bytes`
      : error.message;
  void reply.status(status).send({ error: message, code } satisfies ErrorBody);
}

/** The one place an error becomes an HTTP response. Clients never see a stack trace. */
export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  if (error instanceof DomainError) return sendDomainError(error, request, reply);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const part = (error as FastifyError).validationContext;
    return sendDomainError(requestValidationError(part, error.validation), request, reply);
  }
  const status = (error as FastifyError).statusCode ?? 500;
  if (status >= 400 && status < 500) {
    return sendClientError(error as FastifyError, status, request, reply);
  }
  request.log.error({ err: error }, 'request failed');
  void reply
    .status(500)
    .send({ error: 'internal error; the server logged the details', code: 'internal_error' } satisfies ErrorBody);
}
