import type { Config } from '../config.js';
import { createEventPublisher } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import { createRedis, type Redis } from '../queue/redis.js';
import { announceCancel } from '../queue/cancel-channel.js';
import { createTrainingQueue, enqueueTraining } from '../queue/training-queue.js';
import { announceWorker } from '../queue/worker-registry.js';
import { createPrismaClient } from '../store/database.js';
import { createJobsRepository, type JobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import { createSweepsRepository } from '../store/sweeps/sweeps-repository.js';
import { listenForCancels } from '../worker/cancel-listener.js';
import { createJobRunner, type JobRunner } from '../worker/job-runner.js';
import { reconcileQueue, startReconciler } from '../worker/reconciler.js';
import { createSweepDriver, startSweepDriver } from '../worker/sweep-driver.js';
import { createTrainingPool, type TrainingPool } from '../worker/training-pool.js';
import { createTrainingWorker } from '../worker/training-worker.js';
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

function createRunner(
  config: Config,
  logger: Logger,
  deps: { jobs: JobsRepository; pool: TrainingPool; publisher: Redis },
): JobRunner {
  const publish = createEventPublisher(deps.publisher, config.QUEUE_PREFIX, (error) =>
    logger.debug({ err: error }, 'could not publish a job event'),
  );
  return createJobRunner({
    jobs: deps.jobs,
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

/** Composes and starts a training worker: a pool of training threads fed by the queue. */
export async function startWorker(config: Config, logger: Logger): Promise<Service> {
  await migrate(config.DATABASE_URL);
  const prisma = createPrismaClient(config.DATABASE_URL, { poolSize: Math.max(4, config.WORKER_CONCURRENCY + 2) });
  const jobs = createJobsRepository(prisma);
  const pool = createTrainingPool({ size: config.WORKER_CONCURRENCY, backend: config.TRAINING_BACKEND });
  const backend = await pool.ready();
  logger.info({ backend, concurrency: config.WORKER_CONCURRENCY }, 'training threads ready');

  const redis = connectRedis(config, logger);
  const queue = createTrainingQueue(redis.client, config.QUEUE_PREFIX);
  queue.on('error', (error) => logger.debug({ err: error }, 'queue connection error'));
  const runner = createRunner(config, logger, { jobs, pool, publisher: redis.publisher });
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
  const reconciler = startReconciler(() => reconcileQueue(jobs, queue, logger), config.RECONCILE_INTERVAL_MS, logger);
  // Every worker runs a sweep driver; a lease row on each sweep lets exactly one drive it at a time.
  const sweepDriver = createSweepDriver({
    sweeps: createSweepsRepository(prisma),
    jobs,
    enqueue: (jobId) => enqueueTraining(queue, jobId),
    announceCancel: (jobId) => announceCancel(redis.client, config.QUEUE_PREFIX, jobId),
    publish: createEventPublisher(redis.publisher, config.QUEUE_PREFIX, () => undefined),
    logger,
    leaseMs: config.LOCK_DURATION_MS,
  });
  const sweepTicks = startSweepDriver(sweepDriver, Math.min(1000, config.LOCK_DURATION_MS / 6), logger);
  logger.info({ prefix: config.QUEUE_PREFIX }, 'worker waiting for jobs');

  return {
    async close() {
      // Take nothing new, stop running jobs at a checkpoint and hand them back; then wind down.
      await sweepTicks.stop();
      runner.stopAll();
      await worker.close();
      runner.close();
      await cancels.close();
      await reconciler.stop();
      await registry.stop();
      await queue.close();
      await pool.close();
      redis.disconnect();
      await prisma.$disconnect();
    },
  };
}
