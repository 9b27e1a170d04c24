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
