import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { keyedRoute } from '../http/keyed-route.js';
import { usageAnswer, usageQuery } from './schemas.js';
import type { UsageService } from './usage-service.js';

/** GET /usage: runs, training time and storage per owner. */
export const usageRoutes: FastifyPluginCallbackZod<{ usage: UsageService }> = (app, { usage }, done) => {
  app.get(
    '/usage',
    keyedRoute('read', {
      operationId: 'getUsage',
      tags: ['usage'],
      summary: 'What owners have used',
      description:
        "Runs by status, training seconds and stored bytes (histories, models, checkpoints, datasets), this month and in total. A key sees its own owner's; an admin every owner's, or one owner's with `owner`.",
      querystring: usageQuery,
      response: { 200: usageAnswer },
    }),
    (request) => usage.get(request.viewer, request.query),
  );
  done();
};
