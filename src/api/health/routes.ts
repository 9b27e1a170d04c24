import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { healthReport, type HealthChecks } from './health.js';
import { healthReport as healthSchema, liveness } from './schemas.js';

export const healthRoutes: FastifyPluginCallbackZod<{ checks: HealthChecks }> = (app, { checks }, done) => {
  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        operationId: 'getHealth',
        tags: ['server'],
        summary: 'Check the server and its dependencies',
        description: 'Probes Postgres and Redis; lists live workers and their training backends.',
        response: {
          200: healthSchema.describe('Postgres and Redis answer'),
          503: healthSchema.describe('Postgres or Redis does not answer; the report says which'),
        },
      },
    },
    async (_request, reply) => {
      const report = await healthReport(checks);
      return reply.status(report.ok ? 200 : 503).send({ status: report.ok ? 'ok' : 'unavailable', ...report });
    },
  );
  app.get(
    '/health/live',
    {
      // Probed every few seconds by every kubelet or Docker: a line per probe would drown the log.
      logLevel: 'warn',
      config: { access: 'public' },
      schema: {
        operationId: 'getLiveness',
        tags: ['server'],
        summary: 'Check that the server answers',
        description:
          'Asks nothing of Postgres or Redis, so it stays 200 while they are down (when /health says 503): for liveness probes, which restart a process that fails them.',
        response: { 200: liveness },
      },
    },
    () => ({ status: 'ok' as const }),
  );
  done();
};
