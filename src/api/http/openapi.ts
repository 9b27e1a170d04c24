import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
  type FastifyPluginCallbackZod,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { defaultAccess } from './access-control.js';

/**
 * The features the reference is grouped by: every operation has one of these tags (and an
 * operationId, which generated clients name their functions after).
 */
export const apiTags = [
  { name: 'jobs', description: 'Submit, list, read, cancel and delete training jobs' },
  {
    name: 'history',
    description: "What was recorded of runs: a job's loss history, runs compared, their curves drawn",
  },
  { name: 'streams', description: 'Live events over WebSockets: one job, or every job' },
  { name: 'models', description: 'Trained models: download, predict, evaluation' },
  { name: 'datasets', description: 'Uploaded and bundled datasets, and their examples' },
  { name: 'sweeps', description: 'Hyperparameter sweeps and their live events' },
  { name: 'keys', description: 'API keys, and who a key acts as' },
  { name: 'webhooks', description: 'Signed HTTP callbacks when runs start and end, and their deliveries' },
  { name: 'usage', description: 'What each owner has used: runs, training time, storage' },
  {
    name: 'retention',
    description: "How long finished runs are kept: owners' defaults, and what the next purge deletes",
  },
  { name: 'server', description: "The server's health and this document" },
] as const;

export type ApiTag = (typeof apiTags)[number]['name'];

/**
 * Collects every route's zod schemas into an OpenAPI 3.1 document. Register on the root before the
 * routes: @fastify/swagger learns of routes as they are added.
 */
export function registerOpenApi(app: FastifyInstance): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'trainer',
        description:
          'Trains neural networks on request: POST a job spec, workers train it, every step and epoch lands in Postgres.',
        version: '0.1.0',
      },
      tags: apiTags.map((tag) => ({ ...tag })),
    },
    transform: createJsonSchemaTransform({}),
    transformObject: createJsonSchemaTransformObject({}),
  });
}

/** GET /openapi.json and the interactive reference at GET /docs. */
export const openApiRoutes: FastifyPluginCallbackZod = (app, _options, done) => {
  app.get(
    '/openapi.json',
    {
      // The API's shape is no secret; what it holds is.
      config: { access: 'public' },
      schema: {
        operationId: 'getOpenApiDocument',
        tags: ['server'],
        summary: 'This API as an OpenAPI 3.1 document',
        description: 'Generated from the zod schemas the routes validate and serialise with. /docs renders it.',
        response: { 200: z.record(z.string(), z.unknown()).describe('An OpenAPI 3.1 document') },
      },
    },
    () => app.swagger() as unknown as Record<string, unknown>,
  );
  void app.register((docs, _docsOptions, registered) => {
    defaultAccess(docs, 'public');
    void docs.register(swaggerUi, { routePrefix: '/docs' });
    registered();
  });
  done();
};
