import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '../logger.js';
import type { JobsRepository } from '../store/jobs-repository.js';
import { errorHandler, notFound } from './errors.js';
import type { EventHub } from './event-hub.js';
import type { HealthChecks } from './health.js';
import type { JobsService } from './jobs-service.js';
import { compareRoutes } from './routes/compare.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';

export interface AppDeps {
  jobs: JobsService;
  repository: Pick<JobsRepository, 'find' | 'historyPages'>;
  hub: EventHub;
  health: HealthChecks;
  logger: Logger;
  bodyLimit: number;
  /** Per WebSocket client; past it the client is disconnected. */
  maxBufferedBytes?: number;
  /** How long a client may leave replayed history unread before it is disconnected. */
  slowClientMs?: number;
}

/** The HTTP app, without listening: the server listens, tests inject. */
export function buildApp({
  jobs,
  repository,
  hub,
  health,
  logger,
  bodyLimit,
  maxBufferedBytes = 4 * 1024 * 1024,
  slowClientMs = 10_000,
}: AppDeps): FastifyInstance {
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
  // Once closing, answers carry `Connection: close`, so keep-alive clients of requests still in
  // flight let go and shutdown does not wait for their idle timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) void reply.header('connection', 'close');
  });
  app.setNotFoundHandler((request) => {
    throw notFound(`route ${request.method} ${request.url.split('?')[0]}`);
  });
  void app.register(websocket, {
    options: { maxPayload: 64 * 1024 },
    // Tell clients the server is going away (1001) rather than dropping them.
    preClose(done) {
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down');
      done();
    },
  });
  void app.register(async (routes) => {
    jobRoutes(routes, jobs);
    compareRoutes(routes, jobs);
    eventRoutes(routes, { jobs, repository, hub, maxBufferedBytes, slowClientMs });
    healthRoutes(routes, health);
  });
  return app;
}
