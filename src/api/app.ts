import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../logger.js';
import { dashboardRoutes } from './dashboard.js';
import { errorHandler, routeNotFound } from './errors.js';
import type { DatasetsService } from './datasets-service.js';
import type { EventHub } from './event-hub.js';
import type { HealthChecks } from './health.js';
import type { JobsService } from './jobs-service.js';
import { openApiRoutes, registerOpenApi } from './openapi.js';
import { compareRoutes } from './routes/compare.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { datasetExampleRoutes } from './routes/dataset-examples.js';
import { datasetRoutes } from './routes/datasets.js';
import { modelRoutes } from './routes/models.js';
import type { ModelsService } from './models-service.js';
import { createBundledDatasetExamples, type DatasetExamples } from '../datasets/examples.js';
import { metricsPlugin, type MetricsPluginOptions } from './metrics-plugin.js';
import { sweepRoutes } from './routes/sweeps.js';
import type { SweepsService } from './sweeps-service.js';

export interface AppDeps {
  jobs: JobsService;
  /** Dataset routes are served when given. */
  datasets?: DatasetsService;
  /** Sweeps and their routes; without it the app serves no sweeps. */
  sweeps?: SweepsService;
  hub: EventHub;
  health: HealthChecks;
  logger: Logger;
  bodyLimit: number;
  /** Per WebSocket client; past it the client is disconnected. */
  maxBufferedBytes?: number;
  /** How long a client may leave replayed history unread before it is disconnected. */
  slowClientMs?: number;
  /** Trained models: download, predict, evaluation. Left out, those routes are not served. */
  models?: ModelsService;
  /** POST /jobs/:id/predict's own body limit (1,000 inputs are several MB of JSON). */
  predictBodyLimit?: number;
  /** Where dataset examples come from; the bundled datasets unless told. */
  datasetExamples?: DatasetExamples;
  /** The built dashboard (index.html and assets/); web-dist/ of the checkout by default. */
  dashboardRoot?: string;
  /** Request timing and GET /metrics (see metrics-plugin.ts); none when absent. */
  metrics?: MetricsPluginOptions;
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
  datasets,
  sweeps,
  hub,
  health,
  logger,
  bodyLimit,
  maxBufferedBytes = 4 * 1024 * 1024,
  slowClientMs = 10_000,
  models,
  predictBodyLimit = 16 * 1024 * 1024,
  datasetExamples = createBundledDatasetExamples(),
  dashboardRoot,
  metrics,
}: AppDeps): FastifyInstance {
  const app = createServer(logger, bodyLimit);
  if (metrics) void app.register(metricsPlugin, metrics);
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
  if (datasets) void app.register(datasetRoutes, { datasets });
  if (sweeps) void app.register(sweepRoutes, { sweeps });
  void app.register(eventRoutes, { jobs, hub, maxBufferedBytes, slowClientMs });
  void app.register(healthRoutes, { checks: health });
  if (models) void app.register(modelRoutes, { models, predictBodyLimit });
  void app.register(datasetExampleRoutes, { examples: datasetExamples });
  void app.register(openApiRoutes);
  void app.register(dashboardRoutes, dashboardRoot === undefined ? {} : { root: dashboardRoot });
  return app;
}
