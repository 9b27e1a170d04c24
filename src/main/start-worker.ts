import type { Config } from '../config.js';
import { bundledDataset } from '../domain/datasets.js';
import { createEventPublisher } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import { createRedis, type Redis } from '../queue/redis.js';
import { createTrainingQueue } from '../queue/training-queue.js';
import { announceWorker } from '../queue/worker-registry.js';
import { publishMetrics } from '../metrics/published.js';
import { createProcessRegistry } from '../metrics/registry.js';
import { announceBackend, createWorkerMetrics } from '../metrics/worker-metrics.js';
import { createPostgresArtifactStore } from '../store/artifacts/postgres-artifact-store.js';
import { createPrismaClient, type PrismaClient } from '../store/database.js';
import { createDatasetsRepository } from '../store/datasets-repository.js';
import { createDatasetSource } from '../worker/dataset-source.js';
import { createJobsRepository, type JobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import { createModelsRepository } from '../store/models-repository.js';
import { listenForCancels } from '../worker/cancel-listener.js';
import { createJobRunner, type JobRunner } from '../worker/job-runner.js';
import type { ModelStore } from '../worker/model-keeper.js';
import { reconcileQueue, startReconciler } from '../worker/reconciler.js';
import { createTrainingPool, type TrainingPool } from '../worker/training-pool.js';
import { createTrainingWorker } from '../worker/training-worker.js';
import { measuredStore } from '../worker/measured-store.js';
import type { Service } from './process.js';

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
  };
  for (const connection of Object.values(connections)) {
    connection.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  }
  return {
    ...connections,
    disconnect: () => Object.values(connections).forEach((connection: Redis) => connection.disconnect()),
  };
}

/** Trained models: their files in the artifact store (Postgres for now), their records in `models`. */
function modelStore(prisma: PrismaClient): ModelStore {
  const artifacts = createPostgresArtifactStore(prisma);
  const models = createModelsRepository(prisma);
  const datasets = createDatasetsRepository(prisma);
  return {
    datasetInfo: async (name) => bundledDataset(name) ?? (await datasets.find(name))?.info,
    putArtifact: (content) => artifacts.put(content),
    saveModel: (record) => models.save(record),
    findModel: (jobId, version) => models.find(jobId, version),
  };
}

function createRunner(
  config: Config,
  logger: Logger,
  deps: { jobs: JobsRepository; models: ModelStore; pool: TrainingPool; publisher: Redis },
): JobRunner {
  const publish = createEventPublisher(deps.publisher, config.QUEUE_PREFIX, (error) =>
    logger.debug({ err: error }, 'could not publish a job event'),
  );
  return createJobRunner({
    jobs: deps.jobs,
    models: deps.models,
    pool: deps.pool,
    logger,
    publish,
    steps: { flushMs: config.STEP_FLUSH_MS, flushCount: config.STEP_FLUSH_COUNT },
    maxAttempts: config.MAX_ATTEMPTS,
    maxTrainingMs: config.MAX_TRAINING_MS,
    checkpointEverySteps: config.CHECKPOINT_EVERY_STEPS,
    storeRetryMs: config.STORE_RETRY_MS,
    leaseMs: config.LOCK_DURATION_MS,
  });
}

/** Training threads, fed datasets from the store (uploaded ones cached by content hash). */
async function startPool(config: Config, logger: Logger, prisma: PrismaClient): Promise<TrainingPool> {
  const loadDataset = createDatasetSource({
    datasets: createDatasetsRepository(prisma),
    artifacts: createPostgresArtifactStore(prisma),
    cacheBytes: config.DATASET_CACHE_BYTES,
    logger,
  });
  const pool = createTrainingPool({ size: config.WORKER_CONCURRENCY, backend: config.TRAINING_BACKEND, loadDataset });
  const backend = await pool.ready();
  logger.info({ backend, concurrency: config.WORKER_CONCURRENCY }, 'training threads ready');
  return pool;
}

/** Composes and starts a training worker: a pool of training threads fed by the queue. */
export async function startWorker(config: Config, logger: Logger): Promise<Service> {
  await migrate(config.DATABASE_URL);
  const prisma = createPrismaClient(config.DATABASE_URL, { poolSize: Math.max(4, config.WORKER_CONCURRENCY + 2) });
  const jobs = createJobsRepository(prisma);
  const pool = await startPool(config, logger, prisma);
  const backend = await pool.ready();

  const redis = connectRedis(config, logger);
  const queue = createTrainingQueue(redis.client, config.QUEUE_PREFIX);
  queue.on('error', (error) => logger.debug({ err: error }, 'queue connection error'));
  const metricsRegistry = createProcessRegistry({ process: 'worker' });
  const measured = measuredStore(jobs, createWorkerMetrics(metricsRegistry), backend);
  const runner = createRunner(config, logger, {
    jobs: measured,
    models: modelStore(prisma),
    pool,
    publisher: redis.publisher,
  });
  // Cancels are pushed by the API processes; the runner also polls Postgres for any push that is lost.
  const cancels = listenForCancels(redis.cancels, config.QUEUE_PREFIX, (jobId) => runner.cancel(jobId), logger);
  const worker = createTrainingWorker({
    connection: redis.worker,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockDurationMs: config.LOCK_DURATION_MS,
    stalledIntervalMs: config.STALLED_INTERVAL_MS,
    // The runner decides when a job has crashed too often; the queue only has to keep delivering.
    maxStalledCount: config.MAX_ATTEMPTS + 1,
    runner,
    logger,
  });
  const registry = announceWorker(redis.client, config.QUEUE_PREFIX, {
    backend,
    concurrency: config.WORKER_CONCURRENCY,
  });
  // No HTTP server here: metrics go to Redis, and the API's GET /metrics merges them in.
  metricsRegistry.setDefaultLabels({ process: 'worker', worker: registry.announcement.id });
  announceBackend(metricsRegistry, backend);
  const metrics = publishMetrics(
    redis.client,
    config.QUEUE_PREFIX,
    registry.announcement.id,
    metricsRegistry,
    config.METRICS_PUBLISH_MS,
  );
  const reconciler = startReconciler(() => reconcileQueue(jobs, queue, logger), config.RECONCILE_INTERVAL_MS, logger);
  logger.info({ prefix: config.QUEUE_PREFIX }, 'worker waiting for jobs');

  return {
    async close() {
      // Take nothing new, stop running jobs at a checkpoint and hand them back; then wind down.
      runner.stopAll();
      await worker.close();
      runner.close();
      await cancels.close();
      await reconciler.stop();
      await registry.stop();
      await metrics.stop();
      await queue.close();
      await pool.close();
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}
