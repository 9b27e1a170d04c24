import type { FastifyInstance } from 'fastify';
import type { JobsService } from '../jobs-service.js';
import { jobView } from '../job-view.js';

export function jobRoutes(app: FastifyInstance, jobs: JobsService): void {
  app.post('/jobs', async (request, reply) => {
    const job = await jobs.submit(request.body);
    return reply.status(201).header('location', `/jobs/${job.id}`).send(jobView(job));
  });

  app.get<{ Params: { id: string } }>('/jobs/:id', async (request) => jobView(await jobs.get(request.params.id)));

  app.get<{ Params: { id: string } }>('/jobs/:id/history', async (request) => {
    const steps = await jobs.history(request.params.id);
    return { jobId: request.params.id.toLowerCase(), count: steps.length, steps };
  });
}
