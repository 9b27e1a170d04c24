import type { Config } from '../config.js';
import { createEventPublisher } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import { createJobRunner } from '../worker/job-runner.js';
import { reconcileQueue, startReconciler } from '../worker/reconciler.js';
import { createRedis } from '../queue/redis.js';
import { createTrainingPool } from '../worker/training-pool.js';
import { createTrainingQueue } from '../queue/training-queue.js';
import { createTrainingWorker } from '../worker/training-worker.js';
import { announceWorker } from '../queue/worker-registry.js';
import { createPrismaClient } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import type { Service } from './process.js';

/** Composes and starts a training worker: a pool of training threads fed by the queue. */
export async function startWorker(config: Config, logger: Logger): Promise<Service> {
  await migrate(config.DATABASE_URL);
  const prisma = createPrismaClient(config.DATABASE_URL, { poolSize: Math.max(4, config.WORKER_CONCURRENCY + 2) });
  const jobs = createJobsRepository(prisma);
  const pool = createTrainingPool({ size: config.WORKER_CONCURRENCY, backend: config.TRAINING_BACKEND });
  const backend = await pool.ready();
  logger.info({ backend, concurrency: config.WORKER_CONCURRENCY }, 'training threads ready');

  const workerRedis = createRedis(config.REDIS_URL, 'worker');
  const clientRedis = createRedis(config.REDIS_URL, 'worker');
  for (const connection of [workerRedis, clientRedis]) {
    connection.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  }
  // Events go out on a connection that fails fast, so a Redis outage drops them instead of queueing.
  const publisherRedis = createRedis(config.REDIS_URL, 'client');
  publisherRedis.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  const queue = createTrainingQueue(clientRedis, config.QUEUE_PREFIX);
  queue.on('error', (error) => logger.debug({ err: error }, 'queue connection error'));
  const publish = createEventPublisher(publisherRedis, config.QUEUE_PREFIX, (error) =>
    logger.debug({ err: error }, 'could not publish a job event'),
  );
  const runner = createJobRunner({
    jobs,
    pool,
    logger,
    publish,
    steps: { flushMs: config.STEP_FLUSH_MS, flushCount: config.STEP_FLUSH_COUNT },
    maxAttempts: config.MAX_ATTEMPTS,
    maxTrainingMs: config.MAX_TRAINING_MS,
    checkpointEverySteps: config.CHECKPOINT_EVERY_STEPS,
    storeRetryMs: config.STORE_RETRY_MS,
    leaseMs: config.LOCK_DURATION_MS,
  });
  const worker = createTrainingWorker({
    connection: workerRedis,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockDurationMs: config.LOCK_DURATION_MS,
    stalledIntervalMs: config.STALLED_INTERVAL_MS,
    // The runner decides when a job has crashed too often; the queue only has to keep delivering.
    maxStalledCount: config.MAX_ATTEMPTS + 1,
    runner,
    logger,
  });
  const registry = announceWorker(clientRedis, config.QUEUE_PREFIX, {
    backend,
    concurrency: config.WORKER_CONCURRENCY,
  });
  const reconciler = startReconciler(() => reconcileQueue(jobs, queue, logger), config.RECONCILE_INTERVAL_MS, logger);
  logger.info({ prefix: config.QUEUE_PREFIX }, 'worker waiting for jobs');

  return {
    async close() {
      // Take nothing new, stop running jobs at a checkpoint and hand them back; then wind down.
      runner.stopAll();
      await worker.close();
      runner.close();
      await reconciler.stop();
      await registry.stop();
      await queue.close();
      await pool.close();
      workerRedis.disconnect();
      clientRedis.disconnect();
      publisherRedis.disconnect();
      await prisma.$disconnect();
    },
  };
}
