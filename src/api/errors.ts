import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import {
  BundledDatasetReadOnly,
  CheckpointNotKept,
  DatasetInUse,
  DatasetNameTaken,
  DatasetNotFound,
  DatasetTooLarge,
  ApiKeyNotFound,
  DependencyUnavailable,
  Forbidden,
  DomainError,
  EvaluationNotAvailable,
  IdempotencyConflict,
  InvalidRequest,
  InvalidDataset,
  InvalidSpec,
  InvalidSweep,
  JobAlreadyFinished,
  JobNotFound,
  JobStillActive,
  ModelNotAvailable,
  ResourceNotFound,
  SweepAlreadyFinished,
  SweepNotFound,
  TooManyItems,
  QuotaExceeded,
  RateLimited,
  Unauthenticated,
} from '../domain/errors.js';
import type { ErrorBody } from './schemas/common.js';
import { requestValidationError } from './validation.js';

export type { ErrorBody };

/** The HTTP status of each domain error; the one place that knows. */
function statusOf(error: DomainError): number {
  if (error instanceof JobNotFound || error instanceof ResourceNotFound || error instanceof DatasetNotFound) return 404;
  if (error instanceof ApiKeyNotFound) return 404;
  if (error instanceof Unauthenticated) return 401;
  if (error instanceof Forbidden || error instanceof BundledDatasetReadOnly) return 403;
  if (error instanceof RateLimited || error instanceof QuotaExceeded) return 429;
  if (error instanceof SweepNotFound) return 404;
  if (error instanceof InvalidSpec || error instanceof InvalidRequest || error instanceof InvalidDataset) return 400;
  if (error instanceof InvalidSweep) return 400;
  if (error instanceof DatasetNameTaken || error instanceof DatasetInUse) return 409;
  if (error instanceof DatasetTooLarge) return 413;
  if (error instanceof IdempotencyConflict) return 422;
  if (error instanceof JobAlreadyFinished || error instanceof JobStillActive) return 409;
  if (error instanceof CheckpointNotKept) return 409;
  if (error instanceof SweepAlreadyFinished) return 409;
  if (error instanceof ModelNotAvailable || error instanceof EvaluationNotAvailable) return 409;
  if (error instanceof TooManyItems) return 413;
  if (error instanceof DependencyUnavailable) return 503;
  return 500;
}

function bodyOf(error: DomainError): ErrorBody {
  const issues =
    error instanceof InvalidSpec ||
    error instanceof InvalidRequest ||
    error instanceof TooManyItems ||
    error instanceof InvalidDataset ||
    error instanceof InvalidSweep ||
    error instanceof CheckpointNotKept
      ? error.issues
      : undefined;
  return { error: error.message, code: error.code, ...(issues ? { issues: [...issues] } : {}) };
}

function sendDomainError(error: DomainError, request: FastifyRequest, reply: FastifyReply): void {
  const status = statusOf(error);
  if (error instanceof DependencyUnavailable) {
    request.log.warn({ err: error.cause ?? error }, `${error.dependency} unavailable`);
    void reply.header('retry-after', '5');
  }
  if (error instanceof Unauthenticated) void reply.header('www-authenticate', 'Bearer realm="trainer"');
  if (error instanceof RateLimited) void reply.header('retry-after', String(error.retryAfterSeconds));
  void reply.status(status).send(bodyOf(error));
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
