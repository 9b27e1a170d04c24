import type { FastifyInstance } from 'fastify';
import { healthReport, type HealthChecks } from '../health.js';

export function healthRoutes(app: FastifyInstance, checks: HealthChecks): void {
  app.get('/health', async (_request, reply) => {
    const report = await healthReport(checks);
    return reply.status(report.ok ? 200 : 503).send({ status: report.ok ? 'ok' : 'unavailable', ...report });
  });
}
