import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createRetentionMetrics } from '../metrics/worker-metrics.js';
import type { ClusterTask } from '../queue/cluster-tasks.js';
import type { PrismaClient, PrismaClientOptions } from '../store/database.js';
import { createExpiredRunsRepository } from '../store/jobs/expired-runs.js';
import { purgeExpiredRuns } from '../worker/retention/purge.js';

/** RUN_RETENTION_DAYS for a Postgres client: its connections' trigger stamps a finishing run's expiry with it. */
export const retentionSetting = (config: Config): PrismaClientOptions =>
  config.RUN_RETENTION_DAYS === undefined ? {} : { runRetentionDays: config.RUN_RETENTION_DAYS };

export interface RetentionDeps {
  prisma: PrismaClient;
  metrics: Registry;
}

/**
 * The retention purge as a cluster task (see queue/cluster-tasks.ts): one purge per interval across
 * every worker, one at a time, whichever worker takes it; one that overruns its interval only
 * delays the next. It deletes expired runs in small batches with a pause between them.
 */
export function retentionTask(config: Config, logger: Logger, deps: RetentionDeps): ClusterTask {
  const metrics = createRetentionMetrics(deps.metrics);
  const runs = createExpiredRunsRepository(deps.prisma);
  const options = {
    batchSize: config.RETENTION_BATCH_SIZE,
    pauseMs: config.RETENTION_PAUSE_MS,
    stampServerDefault: config.RUN_RETENTION_DAYS !== undefined,
  };
  const onBatch = ({ runs: deleted, bytes }: { runs: number; bytes: number }) => {
    metrics.deletedRuns.inc(deleted);
    metrics.deletedBytes.inc(bytes);
  };
  return {
    name: 'retention-purge',
    everyMs: config.RETENTION_INTERVAL_SECONDS * 1000,
    run: async () => {
      const result = await purgeExpiredRuns({ runs, logger, onBatch }, options);
      if (result.runs > 0) logger.info(result, 'retention: purge done');
      return result;
    },
  };
}
