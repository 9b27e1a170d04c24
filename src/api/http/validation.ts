import type { FastifySchemaValidationError, RouteShorthandOptions } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { InvalidRequest, type FieldIssue } from '../../domain/errors.js';

type FastifyZodValidatorCompiler = NonNullable<RouteShorthandOptions['validatorCompiler']>;
type FastifyZodSerializerCompiler = NonNullable<RouteShorthandOptions['serializerCompiler']>;

type RequestPart = 'body' | 'querystring' | 'params' | 'headers';

// The zod issue's own fields, which the type provider passes on as `params`.
interface IssueParams {
  keys?: unknown;
}

/** One issue per zod issue, named by its dotted path (or by the part of the request, for the whole of it). */
function fieldIssues(errors: readonly FastifySchemaValidationError[], whole: string): FieldIssue[] {
  return errors.map((error) => {
    const keys = (error.params as IssueParams | undefined)?.keys;
    const unknownKeys = error.keyword === 'unrecognized_keys' && Array.isArray(keys);
    return {
      path: error.instancePath.split('/').filter(Boolean).join('.') || whole,
      message: unknownKeys ? `unknown parameter(s): ${keys.join(', ')}` : (error.message ?? 'is invalid'),
    };
  });
}

/**
 * The domain error for a request the route's zod schemas refused. A bad job id is `invalid_id`, other
 * path parameters (a dataset's split or index) `invalid_path`; the only header read is Idempotency-Key.
 */
export function requestValidationError(
  part: RequestPart | undefined,
  errors: readonly FastifySchemaValidationError[],
): InvalidRequest {
  switch (part) {
    case 'params': {
      const issues = fieldIssues(errors, 'id');
      return issues.every((issue) => issue.path === 'id')
        ? new InvalidRequest('invalid_id', 'job id must be a UUID', issues)
        : InvalidRequest.of('path', issues);
    }
    case 'headers':
      return new InvalidRequest('invalid_idempotency_key', 'send one Idempotency-Key header');
    case 'body':
      return InvalidRequest.of('body', fieldIssues(errors, 'body'));
    default:
      return InvalidRequest.of('query', fieldIssues(errors, 'query'));
  }
}

/**
 * A route's validator compiler that leaves the body to the service (which validates it with its own
 * limits and error paths) and checks every other part with the route's zod schemas as usual; the body
 * schema still documents and types it.
 */
export const bodyCheckedByService: FastifyZodValidatorCompiler = (route) =>
  route.httpPart === 'body'
    ? (value: unknown) => ({ value })
    : // fastify types `route.schema` as the whole route schema; at run time it is the part being compiled.
      validatorCompiler(route as unknown as Parameters<typeof validatorCompiler>[0]);

/**
 * A route's serializer compiler for successful answers built by one typed function (`jobView`,
 * `runSummary`), which TypeScript holds to the schema's output type: they are written as they are,
 * without a zod pass over every answer (on a job read that pass cost more than reading the job).
 * The schema still documents them, and test/api/http/openapi.test.ts checks answers against it. Other
 * statuses (errors) are checked by their schemas as usual.
 */
export const typedSuccessSerializer: FastifyZodSerializerCompiler = (route) =>
  route.httpStatus?.startsWith('2')
    ? (data: unknown) => JSON.stringify(data)
    : // As for `bodyCheckedByService`: at run time `route.schema` is the schema of this status.
      serializerCompiler(route as unknown as Parameters<typeof serializerCompiler>[0]);
