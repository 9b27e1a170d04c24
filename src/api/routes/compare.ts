import { z } from 'zod';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { JobsService } from '../jobs-service.js';
import { lossChartSvg } from '../loss-chart.js';
import { commonErrors, errorBody } from '../schemas/common.js';
import { chartQuery, compareQuery, comparison } from '../schemas/compare.js';

const badQuery = errorBody.describe('Fewer than 2 or more than 20 distinct runs, a bad id or parameter');
const unknownJobs = errorBody.describe('Some of the ids name no job; the message lists them');

export const compareRoutes: FastifyPluginCallbackZod<{ jobs: JobsService }> = (app, { jobs }, done) => {
  app.get(
    '/compare',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Compare runs side by side',
        description:
          'Per run the architecture, differing hyperparameters, accuracy, loss and speed; a layer-by-layer diff; loss curves downsampled to `points`, by step and by epoch.',
        querystring: compareQuery,
        response: { 200: comparison, 400: badQuery, 404: unknownJobs, ...commonErrors },
      },
    },
    async (request) => jobs.compare(request.viewer, request.query.ids, request.query.points),
  );

  app.get(
    '/compare.svg',
    {
      config: { access: 'read' },
      schema: {
        summary: 'Draw the loss curves of runs overlaid',
        description: 'An SVG drawn by Vega-Lite, with a legend of run names; `x=epoch` aligns runs by epoch.',
        querystring: chartQuery,
        produces: ['image/svg+xml'],
        response: {
          200: {
            description: 'The chart',
            content: { 'image/svg+xml': { schema: z.string().describe('An SVG document') } },
          },
          400: badQuery,
          404: unknownJobs,
          ...commonErrors,
        },
      },
    },
    async (request, reply) => {
      const svg = await lossChartSvg(
        await jobs.compare(request.viewer, request.query.ids, request.query.points),
        request.query.x,
      );
      return reply.type('image/svg+xml; charset=utf-8').send(svg);
    },
  );
  done();
};
