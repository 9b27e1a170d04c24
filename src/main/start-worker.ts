import { authMode, type Config } from '../config.js';
import { bundledDataset } from '../domain/datasets.js';
import { createEventPublisher } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import { createRedis, type Redis } from '../queue/redis.js';
import { announceCancel } from '../queue/cancel-channel.js';
import { createTrainingQueues, enqueueTraining, type TrainingQueues } from '../queue/training-queue.js';
import { announceWorker } from '../queue/worker-registry.js';
import { startClusterTasks } from '../queue/cluster-tasks.js';
import { publishMetrics } from '../metrics/published.js';
import { createProcessRegistry } from '../metrics/registry.js';
import { announceBackend, createWorkerMetrics } from '../metrics/worker-metrics.js';
import { readArtifactBytes, type ArtifactStore } from '../store/artifacts/artifact-store.js';
import { createArtifactStore } from '../store/artifacts/artifact-store-factory.js';
import type { RoutedArtifactStore } from '../store/artifacts/routed-artifact-store.js';
import { createPrismaClient, type PrismaClient } from '../store/database.js';
import { createDatasetsRepository } from '../store/datasets-repository.js';
import { createDatasetSource } from '../worker/dataset-source.js';
import { createJobsRepository, type JobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import { createModelsRepository } from '../store/models-repository.js';
import { createSweepsRepository } from '../store/sweeps/sweeps-repository.js';
import { listenForCancels } from '../worker/cancel-listener.js';
import type { CheckpointStore } from '../worker/durable-jobs.js';
import { createJobRunner, type JobRunner } from '../worker/job-runner.js';
import type { ModelStore } from '../worker/model-keeper.js';
import { reconcileQueue } from '../worker/reconciler.js';
import { createSweepDriver, startSweepDriver, type SweepDriverDeps } from '../worker/sweep-driver.js';
import { createTrainingPool, type TrainingPool } from '../worker/training-pool.js';
import { createTrainingWorker } from '../worker/training-worker.js';
import { measuredStore } from '../worker/measured-store.js';
import type { Registry } from 'prom-client';
import type { Service } from './process.js';
import { retentionSetting, retentionTask } from './start-retention.js';
import { startWebhookDelivery } from './start-webhooks.js';

/** The worker's Redis connections, each for one purpose. */
function connectRedis(config: Config, logger: Logger) {
  const connections = {
    // BullMQ's blocking consumer, and its queue and registry commands: both wait through an outage.
    worker: createRedis(config.REDIS_URL, 'worker'),
    client: createRedis(config.REDIS_URL, 'worker'),
    // A subscribed connection can do nothing else; it subscribes again by itself after a reconnect.
    cancels: createRedis(config.REDIS_URL, 'worker'),
    // Events go out on a connection that fails fast, so a Redis outage drops them instead of queueing.
    publisher: createRedis(config.REDIS_URL, 'client'),
    // Webhook deliveries' consumer: a slow receiver never holds up training messages.
    webhooks: createRedis(config.REDIS_URL, 'worker'),
  };
  for (const connection of Object.values(connections)) {
    connection.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  }
  return {
    ...connections,
    disconnect: () => Object.values(connections).forEach((connection: Redis) => connection.disconnect()),
  };
}

/** The DatasetInfo of a name: a bundled dataset, else an uploaded one from the store. */
function datasetResolver(prisma: PrismaClient): SweepDriverDeps['findDataset'] {
  const datasets = createDatasetsRepository(prisma);
  return async (name) => bundledDataset(name) ?? (await datasets.find(name))?.info;
}

/** Trained models: their files in the artifact store, their records in `models`. */
function modelStore(prisma: PrismaClient, artifacts: ArtifactStore): ModelStore {
  const models = createModelsRepository(prisma);
  return {
    datasetInfo: datasetResolver(prisma),
    putArtifact: (content) => artifacts.put(content),
    saveModel: (record) => models.save(record),
    findModel: (jobId, version) => models.find(jobId, version),
  };
}

/** Kept checkpoints: their tensors in the artifact store, their rows with the jobs. */
function checkpointStore(artifacts: ArtifactStore, jobs: JobsRepository): CheckpointStore {
  return {
    putArtifact: (content) => artifacts.put(content),
    readArtifact: (id) => readArtifactBytes(artifacts, id),
    keepCheckpoint: (id, checkpoint, keepLast) => jobs.keepCheckpoint(id, checkpoint, keepLast),
    latestKeptCheckpoint: (id) => jobs.latestKeptCheckpoint(id),
    forkStart: (id) => jobs.forkStart(id),
    listEpochs: (id) => jobs.listEpochs(id),
  };
}

function createRunner(
  config: Config,
  logger: Logger,
  deps: {
    jobs: JobsRepository;
    models: ModelStore;
    checkpoints: CheckpointStore;
    pool: TrainingPool;
    publisher: Redis;
  },
): JobRunner {
  const publish = createEventPublisher(deps.publisher, config.QUEUE_PREFIX, (error) =>
    logger.debug({ err: error }, 'could not publish a job event'),
  );
  return createJobRunner({
    jobs: deps.jobs,
    models: deps.models,
    checkpoints: deps.checkpoints,
    pool: deps.pool,
    logger,
    publish,
    steps: { flushMs: config.STEP_FLUSH_MS, flushCount: config.STEP_FLUSH_COUNT },
    maxAttempts: config.MAX_ATTEMPTS,
    maxTrainingMs: config.MAX_TRAINING_MS,
    checkpointEverySteps: config.CHECKPOINT_EVERY_STEPS,
    checkpointKeepLast: config.CHECKPOINT_KEEP_LAST,
    storeRetryMs: config.STORE_RETRY_MS,
    artifactRetryMs: config.ARTIFACT_RETRY_MS,
    leaseMs: config.LOCK_DURATION_MS,
  });
}

/** Training threads, fed datasets from the store (uploaded ones cached by content hash). */
async function startPool(
  config: Config,
  logger: Logger,
  prisma: PrismaClient,
  artifacts: ArtifactStore,
): Promise<TrainingPool> {
  const loadDataset = createDatasetSource({
    datasets: createDatasetsRepository(prisma),
    artifacts,
    cacheBytes: config.DATASET_CACHE_BYTES,
    logger,
  });
  const pool = createTrainingPool({
    size: config.WORKER_CONCURRENCY,
    backend: config.TRAINING_BACKEND,
    loadDataset,
    maxThreadHeapBytes: config.TRAINING_THREAD_MAX_HEAP_BYTES,
    lendIdleThreads: config.WORKER_LEND_IDLE_THREADS,
  });
  const backend = await pool.ready();
  logger.info(
    { backend, concurrency: config.WORKER_CONCURRENCY, trainingThreadIds: pool.threadIds() },
    'training threads ready',
  );
  return pool;
}

/** Publishes this worker's metrics to Redis: there is no HTTP server here, the API's GET /metrics merges them in. */
function startMetrics(
  config: Config,
  client: Redis,
  metricsRegistry: ReturnType<typeof createProcessRegistry>,
  workerId: string,
  backend: string,
) {
  metricsRegistry.setDefaultLabels({ process: 'worker', worker: workerId });
  announceBackend(metricsRegistry, backend);
  return publishMetrics(client, config.QUEUE_PREFIX, workerId, metricsRegistry, config.METRICS_PUBLISH_MS);
}

/** What a worker's parts are composed from. */
interface WorkerParts {
  prisma: PrismaClient;
  jobs: JobsRepository;
  queues: TrainingQueues;
  redis: ReturnType<typeof connectRedis>;
  artifacts: RoutedArtifactStore;
  metricsRegistry: Registry;
}

/** Every worker runs a sweep driver; a lease row on each sweep lets exactly one drive it at a time. */
function startSweeps(
  config: Config,
  logger: Logger,
  deps: Pick<WorkerParts, 'prisma' | 'jobs' | 'queues'> & { redis: { client: Redis; publisher: Redis } },
) {
  const { prisma, jobs, queues, redis } = deps;
  const sweepDriver = createSweepDriver({
    sweeps: createSweepsRepository(prisma),
    jobs,
    findDataset: datasetResolver(prisma),
    enqueue: (job) => enqueueTraining(queues, job),
    announceCancel: (jobId) => announceCancel(redis.client, config.QUEUE_PREFIX, jobId),
    publish: createEventPublisher(redis.publisher, config.QUEUE_PREFIX, () => undefined),
    logger,
    leaseMs: config.LOCK_DURATION_MS,
    // Quotas bind owners only with AUTH=required, as the API's do.
    activeJobsPerOwner: authMode(config) === 'required' ? config.MAX_ACTIVE_JOBS_PER_OWNER : 0,
  });
  return startSweepDriver(sweepDriver, Math.min(1000, config.LOCK_DURATION_MS / 6), logger);
}

function trainingQueues(config: Config, logger: Logger, connection: Redis): TrainingQueues {
  const queues = createTrainingQueues(connection, config.QUEUE_PREFIX, config.TRAINING_QUEUE_GPU);
  for (const queue of [queues.cpu, queues.gpu])
    queue.on('error', (error) => logger.debug({ err: error }, 'queue connection error'));
  return queues;
}

/** The consumer of this worker's training queue, handing each message to the runner. */
function consumeTraining(
  config: Config,
  logger: Logger,
  deps: { connection: Redis; queues: TrainingQueues; runner: ReturnType<typeof createRunner> },
) {
  return createTrainingWorker({
    connection: deps.connection,
    // A GPU worker takes only the jobs that asked for a GPU; the others take every other job.
    queueName: deps.queues.of(config.WORKER_ACCELERATOR).name,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockDurationMs: config.LOCK_DURATION_MS,
    stalledIntervalMs: config.STALLED_INTERVAL_MS,
    // The runner decides when a job has crashed too often; the queue only has to keep delivering.
    maxStalledCount: config.MAX_ATTEMPTS + 1,
    runner: deps.runner,
    logger,
  });
}

/** Housekeeping that runs once per cluster per interval, whichever worker takes it. */
function startHousekeeping(
  config: Config,
  logger: Logger,
  deps: Omit<WorkerParts, 'redis'> & { redis: { client: Redis; worker: Redis } },
) {
  const { prisma, jobs, queues, redis, artifacts, metricsRegistry } = deps;
  return startClusterTasks(
    { client: redis.client, consumer: redis.worker },
    config.QUEUE_PREFIX,
    [
      { name: 'reconcile', everyMs: config.RECONCILE_INTERVAL_MS, run: () => reconcileQueue(jobs, queues, logger) },
      // The objects of artifacts that deletions and retention released (triggers leave them in an outbox).
      {
        name: 'artifact-deletions',
        everyMs: config.ARTIFACT_DELETION_INTERVAL_MS,
        run: () => artifacts.drainDeletions(),
      },
      retentionTask(config, logger, { prisma, metrics: metricsRegistry }),
    ],
    logger,
  );
}

/** Composes and starts a training worker: a pool of training threads fed by the queue. */
export async function startWorker(config: Config, logger: Logger): Promise<Service> {
  await migrate(config.DATABASE_URL);
  const prisma = createPrismaClient(config.DATABASE_URL, {
    poolSize: Math.max(4, config.WORKER_CONCURRENCY + 2),
    ...retentionSetting(config),
  });
  const jobs = createJobsRepository(prisma);
  const artifacts = createArtifactStore(config, prisma);
  const pool = await startPool(config, logger, prisma, artifacts);
  const backend = await pool.ready();

  const redis = connectRedis(config, logger);
  const queues = trainingQueues(config, logger, redis.client);
  const metricsRegistry = createProcessRegistry({ process: 'worker' });
  const runner = createRunner(config, logger, {
    jobs: measuredStore(jobs, createWorkerMetrics(metricsRegistry), backend),
    models: modelStore(prisma, artifacts),
    checkpoints: checkpointStore(artifacts, jobs),
    pool,
    publisher: redis.publisher,
  });
  // Cancels are pushed by the API processes; the runner also polls Postgres for any push that is lost.
  const cancels = listenForCancels(redis.cancels, config.QUEUE_PREFIX, (jobId) => runner.cancel(jobId), logger);
  const worker = consumeTraining(config, logger, { connection: redis.worker, queues, runner });
  const registry = announceWorker(redis.client, config.QUEUE_PREFIX, {
    backend,
    concurrency: config.WORKER_CONCURRENCY,
    accelerator: config.WORKER_ACCELERATOR,
  });
  const metrics = startMetrics(config, redis.client, metricsRegistry, registry.announcement.id, backend);
  const clusterTasks = startHousekeeping(config, logger, { prisma, jobs, queues, redis, artifacts, metricsRegistry });
  const sweepTicks = startSweeps(config, logger, { prisma, jobs, queues, redis });
  const webhooks = startWebhookDelivery(config, logger, {
    prisma,
    client: redis.client,
    consumer: redis.webhooks,
    findDataset: datasetResolver(prisma),
  });
  logger.info({ prefix: config.QUEUE_PREFIX, artifacts: artifacts.name }, 'worker waiting for jobs');

  return {
    async close() {
      // Take nothing new, stop running jobs at a checkpoint and hand them back; then wind down.
      await sweepTicks.stop();
      runner.stopAll();
      await webhooks.close();
      await worker.close();
      runner.close();
      await cancels.close();
      await clusterTasks.close();
      await registry.stop();
      await metrics.stop();
      await queues.close();
      await pool.close();
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}
