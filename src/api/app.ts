import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../logger.js';
import { errorHandler, routeNotFound } from './errors.js';
import type { EventHub } from './event-hub.js';
import type { HealthChecks } from './health.js';
import type { JobsService } from './jobs-service.js';
import { openApiRoutes, registerOpenApi } from './openapi.js';
import { compareRoutes } from './routes/compare.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { sweepRoutes } from './routes/sweeps.js';
import type { SweepsService } from './sweeps-service.js';

export interface AppDeps {
  jobs: JobsService;
  /** Sweeps and their routes; without it the app serves jobs only. */
  sweeps?: SweepsService;
  hub: EventHub;
  health: HealthChecks;
  logger: Logger;
  bodyLimit: number;
  /** Per WebSocket client; past it the client is disconnected. */
  maxBufferedBytes?: number;
  /** How long a client may leave replayed history unread before it is disconnected. */
  slowClientMs?: number;
}

function createServer(logger: Logger, bodyLimit: number): FastifyInstance {
  // Seen as fastify's base logger, so the app is a plain FastifyInstance.
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit,
    // Ids never need to be long; refuse absurd ones early.
    routerOptions: { maxParamLength: 200 },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  // Every route's params, query, headers and responses are zod schemas (schemas/).
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON is the only body this API reads; anything else is a 415 rather than a confusing 400.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(routeNotFound);
  // Once closing, answers carry `Connection: close`, so keep-alive clients of requests still in
  // flight let go and shutdown does not wait for their idle timeout.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('connection', 'close');
    done(null, payload);
  });
  return app;
}

/** The HTTP app, without listening: the server listens, tests inject. */
export function buildApp({
  jobs,
  sweeps,
  hub,
  health,
  logger,
  bodyLimit,
  maxBufferedBytes = 4 * 1024 * 1024,
  slowClientMs = 10_000,
}: AppDeps): FastifyInstance {
  const app = createServer(logger, bodyLimit);
  registerOpenApi(app);
  void app.register(websocket, {
    options: { maxPayload: 64 * 1024 },
    // Tell clients the server is going away (1001) rather than dropping them.
    preClose(done) {
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down');
      done();
    },
  });
  void app.register(jobRoutes, { jobs });
  void app.register(compareRoutes, { jobs, ...(sweeps ? { sweeps } : {}) });
  if (sweeps) void app.register(sweepRoutes, { sweeps });
  void app.register(eventRoutes, { jobs, hub, maxBufferedBytes, slowClientMs });
  void app.register(healthRoutes, { checks: health });
  void app.register(openApiRoutes);
  return app;
}
