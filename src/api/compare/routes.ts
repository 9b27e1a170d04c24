import { z } from 'zod';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { JobsService } from '../jobs/jobs-service.js';
import type { SweepsService } from '../sweeps/sweeps-service.js';
import { lossChartSvg } from './loss-chart.js';
import { commonErrors, errorBody } from '../http/common-schemas.js';
import { chartQuery, compareQuery, comparison } from './schemas.js';

const badQuery = errorBody.describe('Fewer than 2 or more than 20 distinct runs, a bad id or parameter');
const unknownJobs = errorBody.describe('Some of the ids name no job; the message lists them');

export const compareRoutes: FastifyPluginCallbackZod<{ jobs: JobsService; sweeps?: SweepsService }> = (
  app,
  { jobs, sweeps },
  done,
) => {
  app.get(
    '/compare',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'compareRuns',
        tags: ['history'],
        summary: 'Compare runs side by side',
        description:
          'Per run the architecture, differing hyperparameters, accuracy, loss and speed; a layer-by-layer diff; loss curves downsampled to `points`, by step and by epoch. Name the runs by `ids`, or give `sweep` for its `top` best runs by the objective.',
        querystring: compareQuery,
        response: { 200: comparison, 400: badQuery, 404: unknownJobs, ...commonErrors },
      },
    },
    async (request) => {
      const { ids, sweep, top, points } = request.query;
      // Another owner's sweep is as unknown as a missing one, as its runs would be.
      if (sweep !== undefined && sweeps) return sweeps.compare(request.viewer, sweep, top, points);
      return jobs.compare(request.viewer, ids ?? [], points);
    },
  );

  app.get(
    '/compare.svg',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'drawComparisonChart',
        tags: ['history'],
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
