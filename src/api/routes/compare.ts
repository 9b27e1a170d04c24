import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { JobsService } from '../jobs-service.js';
import { lossChartSvg } from '../loss-chart.js';
import { parseRequest, uuidPattern } from '../validation.js';

const ids = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(z.string().regex(uuidPattern, 'must be a UUID')).min(2, 'name 2 to 20 runs').max(20, 'name 2 to 20 runs'),
  );

const compareQuery = z.strictObject({ ids, points: z.coerce.number().int().min(2).max(5000).default(200) });
const chartQuery = compareQuery.extend({
  points: z.coerce.number().int().min(2).max(5000).default(500),
  x: z.enum(['step', 'epoch']).default('step'),
});

export function compareRoutes(app: FastifyInstance, jobs: JobsService): void {
  app.get('/compare', async (request) => {
    const query = parseRequest(compareQuery, request.query);
    return jobs.compare(query.ids, query.points);
  });

  app.get('/compare.svg', async (request, reply) => {
    const query = parseRequest(chartQuery, request.query);
    const svg = await lossChartSvg(await jobs.compare(query.ids, query.points), query.x);
    return reply.type('image/svg+xml; charset=utf-8').send(svg);
  });
}
