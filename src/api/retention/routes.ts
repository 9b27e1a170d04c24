import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { keyedRoute } from '../http/keyed-route.js';
import type { RetentionService } from './retention-service.js';
import { retentionPreview, retentionPreviewQuery } from './schemas.js';

/** GET /retention/preview: a dry run of the retention purge. */
export const retentionRoutes: FastifyPluginCallbackZod<{ retention: RetentionService }> = (
  app,
  { retention },
  done,
) => {
  app.get(
    '/retention/preview',
    keyedRoute('read', {
      operationId: 'previewRetention',
      tags: ['retention'],
      summary: 'What the next purge would delete',
      description:
        "Expired finished runs the retention purge would delete now (it runs every RETENTION_INTERVAL_SECONDS), and the expired ones it keeps: pinned runs and runs with a fork still queued or running. A key sees its own owner's; an admin every owner's, or one owner's with `owner`.",
      querystring: retentionPreviewQuery,
      response: { 200: retentionPreview },
    }),
    (request) => retention.preview(request.viewer, request.query),
  );
  done();
};
