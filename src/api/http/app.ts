import cors from '@fastify/cors';
import type { IncomingMessage, ServerResponse } from 'node:http';
import websocket from '@fastify/websocket';
import helmet from 'helmet';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from '../../logger.js';
import { dashboardRoutes } from './dashboard.js';
import { chooseWebSocketProtocol, registerAccessControl, type AccessControl } from './access-control.js';
import type { KeysService } from '../keys/keys-service.js';
import { errorHandler, routeNotFound } from './errors.js';
import type { DatasetsService } from '../datasets/datasets-service.js';
import type { EventHub } from '../streams/event-hub.js';
import type { HealthChecks } from '../health/health.js';
import type { JobsService } from '../jobs/jobs-service.js';
import { openApiRoutes, registerOpenApi } from './openapi.js';
import { compareRoutes } from '../compare/routes.js';
import { eventRoutes } from '../streams/routes.js';
import { healthRoutes } from '../health/routes.js';
import { exportRoutes } from '../exports/routes.js';
import { jobRoutes } from '../jobs/routes.js';
import { datasetExampleRoutes } from '../datasets/example-routes.js';
import { datasetRoutes } from '../datasets/routes.js';
import { modelRoutes } from '../models/routes.js';
import type { ModelsService } from '../models/models-service.js';
import { createBundledDatasetExamples, type DatasetExamples } from '../../datasets/examples/examples.js';
import { metricsPlugin, type MetricsPluginOptions } from './metrics-plugin.js';
import { keyRoutes, whoamiRoutes } from '../keys/routes.js';
import { sweepRoutes } from '../sweeps/routes.js';
import type { SweepsService } from '../sweeps/sweeps-service.js';
import { ownerRoutes } from '../owners/routes.js';
import type { OwnerSettingsService } from '../owners/owner-settings-service.js';
import { retentionRoutes } from '../retention/routes.js';
import type { RetentionService } from '../retention/retention-service.js';
import { usageRoutes } from '../usage/routes.js';
import type { UsageService } from '../usage/usage-service.js';
import { webhookRoutes } from '../webhooks/routes.js';
import type { WebhooksService } from '../webhooks/webhooks-service.js';

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
  /** Unsent bytes per WebSocket client; past them the client is disconnected (see ws-outbox.ts). */
  maxBufferedBytes?: number;
  /** How long a client may leave replayed history unread before it is disconnected. */
  slowClientMs?: number;
  /** How often a sweep's stream reads Postgres when no job event woke it; 2 s unless told. */
  sweepFallbackMs?: number;
  /** Trained models: download, predict, evaluation. Left out, those routes are not served. */
  models?: ModelsService;
  /** POST /jobs/:id/predict's own body limit (1,000 inputs are several MB of JSON). */
  predictBodyLimit?: number;
  /** Where the bundled datasets' examples come from (uploaded ones are read from their stored form). */
  datasetExamples?: DatasetExamples;
  /** The built dashboard (index.html and assets/); web-dist/ of the checkout by default. */
  dashboardRoot?: string;
  /** Request timing and GET /metrics (see metrics-plugin.ts); none when absent. */
  metrics?: MetricsPluginOptions;
  /** How requests are authenticated and limited; AUTH=off (everyone is the local admin) when absent. */
  access?: AccessControl;
  /** API keys, for POST/GET/DELETE /keys; those routes answer 404 without it. */
  keys?: KeysService;
  /** Origins a browser may call the API from; CORS stays off when empty. */
  corsOrigins?: readonly string[];
  /** Webhooks and their deliveries; those routes are not served without it. */
  webhooks?: WebhooksService;
  /** GET /usage; not served without it. */
  usage?: UsageService;
  /** GET /retention/preview; not served without it. */
  retention?: RetentionService;
  /** GET and PUT /owners/:owner/settings; not served without it. */
  ownerSettings?: OwnerSettingsService;
}

// The dashboard is served from this origin: its own scripts and styles satisfy this policy, and
// nothing inline runs. WebSockets to the same origin are covered by connect-src 'self'.
const contentSecurityPolicy = {
  useDefaults: true,
  directives: {
    scriptSrc: ["'self'"],
    connectSrc: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    frameAncestors: ["'none'"],
  },
};

/**
 * Helmet's security headers, worked out once: its middleware writes the same headers for every
 * request (the policy has no per-request parts), and building it per request, as the fastify plugin
 * does, parses the policy again each time.
 */
function securityHeaders(): Record<string, string> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  // Helmet's middleware only calls these two on the response and never reads the request.
  helmet({ contentSecurityPolicy })({} as IncomingMessage, response as unknown as ServerResponse, () => undefined);
  return headers;
}

function registerHardening(app: FastifyInstance, corsOrigins: readonly string[]): void {
  const headers = securityHeaders();
  app.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(headers);
    done();
  });
  if (corsOrigins.length > 0) {
    void app.register(cors, {
      origin: [...corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'idempotency-key'],
      exposedHeaders: ['location', 'retry-after', 'idempotent-replayed', 'www-authenticate'],
      maxAge: 600,
    });
  }
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

/** The routes of what an owner has and sets apart from runs: keys, webhooks, usage, retention. */
function registerOwnerRoutes(
  app: FastifyInstance,
  { keys, webhooks, usage, retention, ownerSettings }: Pick<AppDeps, OwnerFeature>,
): void {
  if (keys) void app.register(keyRoutes, { keys });
  if (webhooks) void app.register(webhookRoutes, { webhooks });
  if (usage) void app.register(usageRoutes, { usage });
  if (retention) void app.register(retentionRoutes, { retention });
  if (ownerSettings) void app.register(ownerRoutes, { ownerSettings });
}

type OwnerFeature = 'keys' | 'webhooks' | 'usage' | 'retention' | 'ownerSettings';

/** The HTTP app, without listening: the server listens, tests inject. */
export function buildApp({
  jobs,
  datasets,
  sweeps,
  hub,
  health,
  logger,
  bodyLimit,
  maxBufferedBytes = 256 * 1024,
  slowClientMs = 10_000,
  sweepFallbackMs,
  models,
  predictBodyLimit = 16 * 1024 * 1024,
  datasetExamples = createBundledDatasetExamples(),
  dashboardRoot,
  metrics,
  access = { mode: 'off' },
  corsOrigins = [],
  ...ownerFeatures
}: AppDeps): FastifyInstance {
  const app = createServer(logger, bodyLimit);
  if (metrics) void app.register(metricsPlugin, metrics);
  registerHardening(app, corsOrigins);
  registerOpenApi(app);
  void app.register(websocket, {
    // A browser offers `trainer` and `bearer.<key>`; the answer never echoes the key.
    options: { maxPayload: 64 * 1024, handleProtocols: (offered) => chooseWebSocketProtocol(offered) },
    // Tell clients the server is going away (1001) rather than dropping them.
    preClose(done) {
      for (const client of this.websocketServer.clients) client.close(1001, 'server shutting down');
      done();
    },
  });
  // After the websocket plugin, whose own onRequest hook marks upgrade requests so that one refused
  // here has its socket closed; before every route, so each is in the access table.
  void app.after(() => registerAccessControl(app, access));
  void app.register(jobRoutes, { jobs });
  void app.register(exportRoutes, { jobs });
  void app.register(compareRoutes, { jobs, ...(sweeps ? { sweeps } : {}) });
  if (datasets) void app.register(datasetRoutes, { datasets });
  if (sweeps)
    void app.register(sweepRoutes, {
      sweeps,
      hub,
      maxBufferedBytes,
      ...(sweepFallbackMs === undefined ? {} : { fallbackMs: sweepFallbackMs }),
    });
  void app.register(eventRoutes, { jobs, hub, maxBufferedBytes, slowClientMs });
  void app.register(healthRoutes, { checks: health });
  if (models) void app.register(modelRoutes, { jobs, models, predictBodyLimit });
  void app.register(datasetExampleRoutes, { examples: datasetExamples, ...(datasets ? { datasets } : {}) });
  void app.register(openApiRoutes);
  registerOwnerRoutes(app, ownerFeatures);
  void app.register(whoamiRoutes, { auth: access.mode });
  void app.register(dashboardRoutes, dashboardRoot === undefined ? {} : { root: dashboardRoot });
  return app;
}
