import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import { errorHandler, notFound } from './errors.js';
import type { HealthChecks } from './health.js';
import type { JobsService } from './jobs-service.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';

export interface AppDeps {
  jobs: JobsService;
  health: HealthChecks;
  logger: Logger;
  bodyLimit: number;
}

/** The HTTP app, without listening: the server listens, tests inject. */
export function buildApp({ jobs, health, logger, bodyLimit }: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit,
    // Ids never need to be long; refuse absurd ones early.
    routerOptions: { maxParamLength: 200 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  // JSON is the only body this API reads; anything else is a 415 rather than a confusing 400.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request) => {
    throw notFound(`route ${request.method} ${request.url.split('?')[0]}`);
  });
  jobRoutes(app, jobs);
  healthRoutes(app, health);
  return app;
}
