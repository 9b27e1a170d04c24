import { DelayedError, Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from '../logger.js';
import type { JobRunner } from './job-runner.js';
import type { TrainingMessage } from '../queue/training-queue.js';

export interface TrainingWorkerOptions {
  connection: ConnectionOptions;
  /** The queue it takes jobs from: the training queue, or the GPU queue on a GPU worker. */
  queueName: string;
  prefix: string;
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  runner: JobRunner;
  logger: Logger;
}

class LeaseHeldError extends Error {
  constructor() {
    super('another worker holds this job; retrying later');
    this.name = 'LeaseHeldError';
  }
}

/** The BullMQ consumer: hands each message to the job runner, at most `concurrency` at once. */
export function createTrainingWorker(options: TrainingWorkerOptions) {
  const { connection, prefix, concurrency, runner, logger } = options;
  const worker = new Worker<TrainingMessage>(
    options.queueName,
    async (message, token) => {
      const result = await runner.run(message.data.jobId);
      if (result === 'handed-back' && token) {
        // Back to the queue at once, for a worker that is not shutting down.
        await message.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (result === 'busy') {
        // Delivered twice while its first worker is alive: try later, by when that worker has
        // finished it (then the retry finds it done) or died (then its lease has run out).
        throw new LeaseHeldError();
      }
    },
    {
      connection,
      prefix,
      concurrency,
      // Training runs on threads, so this event loop stays free and locks renew on time; a lock
      // lapses only when this process is gone, and then another worker takes the job over.
      lockDuration: options.lockDurationMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
    },
  );
  worker.on('error', (error) => logger.error({ err: error }, 'queue worker error'));
  worker.on('failed', (message, error) => {
    if (error instanceof LeaseHeldError) return;
    logger.error({ jobId: message?.data.jobId, err: error }, 'job message failed');
  });
  return worker;
}
