import type { FastifySchema } from 'fastify';
import type { Access } from '../../domain/access.js';
import type { ApiTag } from './openapi.js';
import { commonErrors } from './common-schemas.js';

/** What every documented route says of itself: its name and feature, a summary, a description and its own answers. */
interface RouteDocs extends FastifySchema {
  operationId: string;
  tags: readonly [ApiTag];
  summary: string;
  description: string;
  response: object;
}

/**
 * The options of a route that takes an API key: who may call it, and its schema with the error
 * answers any such route may give (no key, a role that may not, a rate limit, an outage); its own answer
 * for one of those statuses replaces the common one.
 */
export function keyedRoute<const Docs extends RouteDocs, const Options extends object = Record<never, never>>(
  access: Exclude<Access, 'public'>,
  schema: Docs,
  /** The route's other options (its own validator or serializer, body limit, hooks). */
  options?: Options,
) {
  return {
    ...(options as Options),
    config: { access },
    schema: { ...schema, response: { ...commonErrors, ...schema.response } },
  };
}

/** What a DELETE handler needs of fastify's reply. */
interface DeleteReply {
  code(statusCode: 204): { send(payload: null): unknown };
}

/** The handler of a DELETE: once `remove` has removed what the request names, 204 with no body. */
export function answerDeleted<Request>(remove: (request: Request) => Promise<void>) {
  return async (request: Request, reply: DeleteReply): Promise<void> => {
    await remove(request);
    await reply.code(204).send(null);
  };
}
