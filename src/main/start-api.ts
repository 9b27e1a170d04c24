import { authMode, isLoopback, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { AccessControl } from '../api/http/access-control.js';
import type { AcceleratorAvailable } from '../api/jobs/accelerators.js';
import { buildApp } from '../api/http/app.js';
import { createDatasetsService } from '../api/datasets/datasets-service.js';
import { metricsRoute } from '../api/http/metrics-plugin.js';
import { createApiMetrics, readPublishedMetrics, type ApiMetrics } from '../metrics/api-metrics.js';
import { createProcessRegistry } from '../metrics/registry.js';
import { countJobsByStatus } from '../store/jobs/job-counts.js';
import { createEventHub } from '../api/streams/event-hub.js';
import { createHistoryCache } from '../api/history/history-cache.js';
import { warmFinishedHistories } from '../api/history/history-warmer.js';
import type { HealthChecks } from '../api/health/health.js';
import { createJobsService } from '../api/jobs/jobs-service.js';
import { createModelsService, modelFilesLoader, type StoredModel } from '../api/models/models-service.js';
import type { DatasetResolver } from '../api/jobs/submit-job.js';
import { createSweepsService } from '../api/sweeps/sweeps-service.js';
import { defaultImageLimits } from '../inference/images.js';
import { createPredictor } from '../inference/predictor.js';
import { createModelsRepository } from '../store/models-repository.js';
import { createKeyCache, type KeyCache } from '../api/http/key-cache.js';
import { createKeysService } from '../api/keys/keys-service.js';
import { createSubmissionQuota, type Limits, type SubmissionQuota } from '../api/http/quotas.js';
import { createRateLimiter } from '../api/http/rate-limiter.js';
import { createApiKeysRepository } from '../store/api-keys.js';
import { createEventPublisher } from '../events/job-events.js';
import { publishKeyRevocation, subscribeKeyRevocations } from '../events/key-revocations.js';
import { announceCancel } from '../queue/cancel-channel.js';
import { createRedis, type Redis } from '../queue/redis.js';
import {
  createTrainingQueues,
  dequeueTraining,
  enqueueTraining,
  enqueueTrainingMany,
  type TrainingQueues,
} from '../queue/training-queue.js';
import { listWorkers } from '../queue/worker-registry.js';
import type { ArtifactStore } from '../store/artifacts/artifact-store.js';
import { createArtifactStore } from '../store/artifacts/artifact-store-factory.js';
import { drainReleasedArtifacts } from './artifact-drain.js';
import type { RoutedArtifactStore } from '../store/artifacts/routed-artifact-store.js';
import { createPrismaClient, type PrismaClient } from '../store/database.js';
import { createDatasetsRepository } from '../store/datasets-repository.js';
import { createJobsRepository, type JobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import { createSweepsRepository } from '../store/sweeps/sweeps-repository.js';
import type { Service } from './process.js';
import { webhookSecrets } from './start-webhooks.js';
import { retentionSetting } from './start-retention.js';
import { createWebhooksService } from '../api/webhooks/webhooks-service.js';
import { resolveWithDns } from '../domain/network-addresses.js';
import { createWebhookQueue, enqueueDeliveries } from '../queue/webhook-queue.js';
import { createDeliveriesRepository } from '../store/webhooks/deliveries-repository.js';
import { createWebhooksRepository } from '../store/webhooks/webhooks-repository.js';
import { createUsageService } from '../api/usage/usage-service.js';
import { createUsageRepository } from '../store/usage-repository.js';
import { createOwnerSettingsService } from '../api/owners/owner-settings-service.js';
import { createRetentionService } from '../api/retention/retention-service.js';
import { createExpiredRunsRepository } from '../store/jobs/expired-runs.js';
import { createOwnerSettingsRepository } from '../store/owner-settings-repository.js';

/** The API's connections: Postgres, Redis for commands, Redis for subscriptions, and the queue. */
function connect(config: Config, logger: Logger) {
  const prisma = createPrismaClient(config.DATABASE_URL, retentionSetting(config));
  const redis = createRedis(config.REDIS_URL, 'client');
  // Subscribers must ride out Redis restarts, so this one queues commands while offline.
  const subscriber = createRedis(config.REDIS_URL, 'worker');
  for (const connection of [redis, subscriber])
    connection.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  const queues = createTrainingQueues(redis, config.QUEUE_PREFIX, config.TRAINING_QUEUE_GPU);
  for (const queue of [queues.cpu, queues.gpu])
    queue.on('error', (error) => logger.debug({ err: error }, 'queue connection error'));
  const webhookQueue = createWebhookQueue(redis, config.QUEUE_PREFIX);
  webhookQueue.on('error', (error) => logger.debug({ err: error }, 'webhook queue connection error'));
  return { prisma, redis, subscriber, queues, webhookQueue };
}

function healthChecks(prisma: PrismaClient, redis: Redis, prefix: string): HealthChecks {
  return {
    database: async () => {
      await prisma.$queryRaw`SELECT 1`;
    },
    redis: async () => {
      await redis.ping();
    },
    workers: () => listWorkers(redis, prefix),
  };
}

type Connections = ReturnType<typeof connect>;

/** Whether a live worker announces `accelerator` (older workers announce none: cpu). */
const acceleratorAvailable =
  (redis: Redis, prefix: string): AcceleratorAvailable =>
  async (accelerator) =>
    (await listWorkers(redis, prefix)).some((worker) => (worker.accelerator ?? 'cpu') === accelerator);

/** The API's metrics, read from Postgres, the queue and the metrics workers publish to Redis. */
function apiMetrics(
  prisma: PrismaClient,
  redis: Redis,
  queues: TrainingQueues,
  prefix: string,
  webSocketClients: () => number,
) {
  const states = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;
  return createApiMetrics(createProcessRegistry({ process: 'api' }), {
    jobsByStatus: () => countJobsByStatus(prisma),
    queueCounts: () => queues.cpu.getJobCounts(...states),
    gpuQueueCounts: () => queues.gpu.getJobCounts(...states),
    published: () => readPublishedMetrics(redis, prefix),
    webSocketClients,
  });
}

/** GET /metrics alone, on a port of its own. */
async function serveMetrics(metrics: ApiMetrics, logger: Logger, host: string, port: number | undefined) {
  const loggerInstance: FastifyBaseLogger = logger;
  const server = Fastify({ loggerInstance });
  metricsRoute(server, metrics);
  const address = await server.listen({ host, port: port ?? 0 });
  logger.info({ address }, 'metrics listening');
  return server;
}

function limitsOf(config: Config): Limits {
  return {
    requestsPerKeyPerMinute: config.RATE_LIMIT_REQUESTS_PER_MINUTE,
    submissionsPerOwnerPerMinute: config.RATE_LIMIT_SUBMISSIONS_PER_MINUTE,
    activeJobsPerOwner: config.MAX_ACTIVE_JOBS_PER_OWNER,
    failedAuthPerAddressPerMinute: config.MAX_FAILED_AUTH_PER_MINUTE,
  };
}

/**
 * API keys as this process sees them: looked up through a short-lived cache, which a revocation
 * empties of the key at once here and, through Redis, on every other API process.
 */
function apiKeys(config: Config, logger: Logger, prisma: PrismaClient, redis: Redis, subscriber: Redis) {
  const repository = createApiKeysRepository(prisma);
  const cache = createKeyCache(repository, {
    ttlMs: config.API_KEY_CACHE_MS,
    maxEntries: config.API_KEY_CACHE_ENTRIES,
  });
  const revocations = subscribeKeyRevocations(subscriber, config.QUEUE_PREFIX, {
    revoked: (keyId) => cache.forget(keyId),
    missed: () => cache.clear(),
  });
  // Until Redis confirms it, other processes' revocations take up to API_KEY_CACHE_MS to apply here.
  revocations.ready.catch((error: unknown) =>
    logger.warn({ err: error }, 'could not subscribe to key revocations: they apply here within API_KEY_CACHE_MS'),
  );
  const service = createKeysService(repository, {
    onRevoked(keyId) {
      cache.forget(keyId);
      publishKeyRevocation(redis, config.QUEUE_PREFIX, keyId).catch((error: unknown) =>
        logger.warn(
          { err: error, keyId },
          'could not announce a key revocation: other API processes apply it within API_KEY_CACHE_MS',
        ),
      );
    },
  });
  return { cache, service, close: revocations.close };
}

/** AUTH as configured, saying so loudly when anyone who reaches the port may use the server. */
function accessControl(config: Config, logger: Logger, keys: KeyCache, redis: Redis): AccessControl {
  if (authMode(config) === 'off') {
    if (!isLoopback(config.HOST)) {
      logger.warn(
        { host: config.HOST },
        'AUTH=off on a non-loopback address: anyone who can reach this port can submit, cancel and read every job',
      );
    }
    return { mode: 'off' };
  }
  return {
    mode: 'required',
    keys,
    ...(config.ADMIN_API_KEY === undefined ? {} : { adminKey: config.ADMIN_API_KEY }),
    limiter: createRateLimiter(redis, config.QUEUE_PREFIX),
    limits: limitsOf(config),
    logger,
  };
}

function datasetsService(
  config: Config,
  logger: Logger,
  prisma: PrismaClient,
  artifacts: ArtifactStore,
  access: AccessControl,
) {
  return createDatasetsService({
    datasets: createDatasetsRepository(prisma),
    artifacts,
    limits: {
      maxUploadBytes: config.DATASET_MAX_UPLOAD_BYTES,
      maxExamples: config.DATASET_MAX_EXAMPLES,
      maxTotalBytes: config.DATASET_MAX_TOTAL_BYTES,
      maxExampleBytes: config.DATASET_MAX_EXAMPLE_BYTES,
      // Quotas bind owners; with AUTH=off there is one owner, the local user, and no quotas.
      ...(access.mode === 'required' ? { maxOwnerBytes: config.DATASET_OWNER_MAX_BYTES } : {}),
    },
    tmpDir: config.DATASET_TMP_DIR,
    logger,
  });
}

/** Admits one more submission of an owner; with AUTH=off there is one owner, the local user, and no quotas. */
function submissionQuota(logger: Logger, repository: JobsRepository, access: AccessControl) {
  return access.mode === 'required'
    ? createSubmissionQuota({
        limiter: access.limiter,
        countActive: (owner) => repository.countActive(owner),
        limits: access.limits,
        logger,
      })
    : undefined;
}

function jobsService(
  config: Config,
  logger: Logger,
  { redis, queues }: Connections,
  repository: JobsRepository,
  findDataset: DatasetResolver,
  admit: SubmissionQuota | undefined,
  artifacts: RoutedArtifactStore,
) {
  const prefix = config.QUEUE_PREFIX;
  return createJobsService({
    jobs: repository,
    releaseArtifacts: () => artifacts.drainDeletions(),
    historyCache: createHistoryCache(config.HISTORY_CACHE_BYTES),
    ...(admit ? { admit } : {}),
    enqueue: (job) => enqueueTraining(queues, job),
    enqueueMany: (jobs) => enqueueTrainingMany(queues, jobs),
    dequeue: (jobId) => dequeueTraining(queues, jobId),
    acceleratorAvailable: acceleratorAvailable(redis, prefix),
    announceCancel: (jobId) => announceCancel(redis, prefix, jobId),
    publish: createEventPublisher(redis, prefix, (error) =>
      logger.debug({ err: error }, 'could not publish a job event'),
    ),
    maxParameters: config.MAX_PARAMETERS,
    maxJobMemoryBytes: config.MAX_JOB_MEMORY_BYTES,
    findDataset,
    logger,
  });
}

/** Sweeps: stored here, launched and driven by the workers' sweep drivers. */
function sweepsService(
  config: Config,
  logger: Logger,
  prisma: PrismaClient,
  jobs: ReturnType<typeof jobsService>,
  findDataset: DatasetResolver,
  admit: SubmissionQuota | undefined,
  redis: Redis,
) {
  return createSweepsService({
    sweeps: createSweepsRepository(prisma),
    jobs,
    ...(admit ? { admit } : {}),
    limits: { maxParameters: config.MAX_PARAMETERS, maxJobMemoryBytes: config.MAX_JOB_MEMORY_BYTES },
    findDataset,
    acceleratorAvailable: acceleratorAvailable(redis, config.QUEUE_PREFIX),
    logger,
  });
}

/** How long a closing API lets requests in flight finish before it cuts their connections. */
const closeGraceMs = 5000;

/**
 * Closes `app`, giving requests in flight `closeGraceMs` and then cutting connections still open,
 * rather than waiting out a client that stopped half-way through a request (keep-alive lasts 72 s).
 */
async function closeApp(app: { close(): Promise<unknown>; server: { closeAllConnections(): void } }): Promise<void> {
  const cut = setTimeout(() => app.server.closeAllConnections(), closeGraceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}

/** Models and predictions; the inference pool starts at the first prediction and `close` stops it. */
function modelsService(config: Config, prisma: PrismaClient, repository: JobsRepository, artifacts: ArtifactStore) {
  // Inference runs on threads of this pool, never on the event loop. Started at the first prediction,
  // so an API that never predicts holds no tfjs threads; closed after the app stops answering.
  let predictor: ReturnType<typeof createPredictor<StoredModel>> | undefined;
  const startedPredictor = () =>
    (predictor ??= createPredictor<StoredModel>({
      loadArtifacts: modelFilesLoader(artifacts),
      cacheBytes: config.MODEL_CACHE_BYTES,
      threads: config.PREDICT_THREADS,
      imageLimits: { ...defaultImageLimits, maxDecodedBytes: config.PREDICT_MAX_DECODED_BYTES },
      decodeThreads: config.PREDICT_DECODE_THREADS,
    }));
  const service = createModelsService({
    jobs: repository,
    models: createModelsRepository(prisma),
    artifacts,
    ...(config.ARTIFACT_REDIRECTS ? { redirectSeconds: config.ARTIFACT_REDIRECT_SECONDS } : {}),
    predict: (model, request) => startedPredictor().predict(model, request),
    evaluations: { find: (jobId, epoch) => repository.findEvaluation(jobId, epoch) },
  });
  return { service, close: () => predictor?.close() };
}

/** Webhooks as the API manages them; deliveries are made by the workers. */
function webhooksService(config: Config, logger: Logger, { prisma, webhookQueue }: Connections) {
  const secrets = webhookSecrets(config);
  return createWebhooksService({
    webhooks: createWebhooksRepository(prisma),
    deliveries: createDeliveriesRepository(prisma),
    ...(secrets ? { secrets } : {}),
    enqueue: (attempts) => enqueueDeliveries(webhookQueue, attempts),
    allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    resolve: resolveWithDns,
    retryForMs: config.WEBHOOK_RETRY_FOR_MS,
    maxPerOwner: config.WEBHOOK_MAX_PER_OWNER,
    logger,
  });
}

/** What the API tells about owners: their usage, their runs' retention and their default settings. */
function ownerServices(prisma: PrismaClient) {
  return {
    usage: createUsageService({ usage: createUsageRepository(prisma) }),
    retention: createRetentionService({ runs: createExpiredRunsRepository(prisma) }),
    ownerSettings: createOwnerSettingsService({ settings: createOwnerSettingsRepository(prisma) }),
  };
}

/** Composes and starts the HTTP API. Resolves once it listens; `address` says where. */
export async function startApi(config: Config, logger: Logger): Promise<Service & { address: string }> {
  const applied = await migrate(config.DATABASE_URL);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const connections = connect(config, logger);
  const { prisma, redis, subscriber, queues } = connections;
  // Prisma loads its query compiler on first use: about 0.35 s of CPU that would otherwise hold up
  // the first requests of a fresh process (a run page's model and history, read side by side).
  await prisma.$connect();
  const repository = createJobsRepository(prisma);
  const artifacts = createArtifactStore(config, prisma);
  const stopDraining = drainReleasedArtifacts(artifacts, config.ARTIFACT_DELETION_INTERVAL_MS, logger);
  const keys = apiKeys(config, logger, prisma, redis, subscriber);
  const access = accessControl(config, logger, keys.cache, redis);
  const datasets = datasetsService(config, logger, prisma, artifacts, access);
  const models = modelsService(config, prisma, repository, artifacts);
  const findDataset: DatasetResolver = (name, owner) => datasets.find(name, owner);
  const admit = submissionQuota(logger, repository, access);
  const jobs = jobsService(config, logger, connections, repository, findDataset, admit, artifacts);
  const metrics = apiMetrics(prisma, redis, queues, config.QUEUE_PREFIX, () => app.websocketServer.clients.size);
  const hub = createEventHub(subscriber, config.QUEUE_PREFIX, undefined, (event) => {
    if (event.type === 'steps' && event.committedAt) metrics.eventLag.observe((Date.now() - event.committedAt) / 1000);
  });
  const stopWarming = await warmFinishedHistories(hub, (jobId) => jobs.warmHistory(jobId), logger);
  // With METRICS_PORT, GET /metrics is served there only (and can be kept from API clients).
  const ownPort = config.METRICS_PORT !== undefined;
  const app = buildApp({
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
    slowClientMs: config.WS_SLOW_CLIENT_MS,
    hub,
    jobs,
    sweeps: sweepsService(config, logger, prisma, jobs, findDataset, admit, redis),
    datasets,
    health: healthChecks(prisma, redis, config.QUEUE_PREFIX),
    models: models.service,
    predictBodyLimit: config.PREDICT_BODY_LIMIT_BYTES,
    metrics: { metrics, route: !ownPort },
    access,
    keys: keys.service,
    corsOrigins: config.CORS_ORIGINS,
    webhooks: webhooksService(config, logger, connections),
    ...ownerServices(prisma),
  });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  const metricsServer = ownPort ? await serveMetrics(metrics, logger, config.HOST, config.METRICS_PORT) : undefined;
  return {
    address,
    async close() {
      stopDraining();
      await stopWarming();
      await metricsServer?.close();
      await closeApp(app);
      await keys.close();
      await models.close();
      await queues.close();
      await connections.webhookQueue.close();
      redis.disconnect();
      subscriber.disconnect();
      await prisma.$disconnect();
    },
  };
}
