import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createRetentionMetrics } from '../metrics/worker-metrics.js';
import type { Redis } from '../queue/redis.js';
import { createRetentionQueue, scheduleRetentionPurge } from '../queue/retention-queue.js';
import type { PrismaClient, PrismaClientOptions } from '../store/database.js';
import { createExpiredRunsRepository } from '../store/jobs/expired-runs.js';
import { createRetentionWorker } from '../worker/retention/retention-worker.js';
import type { Service } from './process.js';

/** RUN_RETENTION_DAYS for a Postgres client: its connections' trigger stamps a finishing run's expiry with it. */
export const retentionSetting = (config: Config): PrismaClientOptions =>
  config.RUN_RETENTION_DAYS === undefined ? {} : { runRetentionDays: config.RUN_RETENTION_DAYS };

export interface RetentionDeps {
  prisma: PrismaClient;
  /** For the queue's commands: a connection that waits through a Redis outage. */
  client: Redis;
  /** The BullMQ consumer's blocking connection. */
  consumer: Redis;
  metrics: Registry;
}

/**
 * The worker's part of retention: it (re)registers the one cluster-wide purge scheduler and takes
 * its turn at running the purges. A scheduler that cannot be registered now (Redis down) is retried
 * by the next worker to start; the purges already scheduled go on.
 */
export function startRetentionPurge(config: Config, logger: Logger, deps: RetentionDeps): Service {
  const queue = createRetentionQueue(deps.client, config.QUEUE_PREFIX);
  queue.on('error', (error) => logger.debug({ err: error }, 'retention queue connection error'));
  scheduleRetentionPurge(queue, config.RETENTION_INTERVAL_SECONDS * 1000).catch((error: unknown) =>
    logger.warn({ err: error }, 'could not register the retention purge scheduler'),
  );
  const metrics = createRetentionMetrics(deps.metrics);
  const worker = createRetentionWorker({
    connection: deps.consumer,
    prefix: config.QUEUE_PREFIX,
    runs: createExpiredRunsRepository(deps.prisma),
    logger,
    batchSize: config.RETENTION_BATCH_SIZE,
    pauseMs: config.RETENTION_PAUSE_MS,
    stampServerDefault: config.RUN_RETENTION_DAYS !== undefined,
    onBatch: ({ runs, bytes }) => {
      metrics.deletedRuns.inc(runs);
      metrics.deletedBytes.inc(bytes);
    },
  });
  return {
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
