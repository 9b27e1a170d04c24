import { Worker, type ConnectionOptions } from 'bullmq';
import { retentionQueueName } from '../../queue/retention-queue.js';
import { purgeExpiredRuns, type PurgeDeps, type PurgeOptions } from './purge.js';

export interface RetentionWorkerOptions extends PurgeDeps, PurgeOptions {
  connection: ConnectionOptions;
  prefix: string;
}

/**
 * The consumer of the scheduled purges. One at a time per worker, and BullMQ hands each purge to
 * one worker, so the cluster runs one purge at once; a purge that overruns its interval only delays
 * the next.
 */
export function createRetentionWorker(options: RetentionWorkerOptions): Worker {
  const { connection, prefix, logger, ...rest } = options;
  const worker = new Worker(
    retentionQueueName,
    async () => {
      const result = await purgeExpiredRuns({ ...rest, logger }, rest);
      if (result.runs > 0) logger.info(result, 'retention: purge done');
      return result;
    },
    // A purge of many batches holds the job for minutes: its lock is renewed meanwhile.
    { connection, prefix, concurrency: 1 },
  );
  worker.on('error', (error) => logger.error({ err: error }, 'retention worker error'));
  worker.on('failed', (_job, error) => logger.warn({ err: error }, 'retention purge failed; the next one retries'));
  return worker;
}
