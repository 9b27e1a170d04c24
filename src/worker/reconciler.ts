import type { Logger } from '../logger.js';
import type { JobsRepository } from '../store/jobs-repository.js';
import { enqueueTraining, type TrainingQueues } from '../queue/training-queue.js';

/**
 * Postgres is the record: queues again every job it holds as queued, or as running with no live
 * worker, that the queue has lost (Redis restarted empty, or queueing failed after the row was
 * written). A running job whose worker still holds its lease is left to that worker.
 * Returns the ids it queued.
 */
export async function reconcileQueue(
  jobs: Pick<JobsRepository, 'orphaned'>,
  queues: TrainingQueues,
  logger: Logger,
): Promise<string[]> {
  const requeued: string[] = [];
  // Page through all of them: after an empty restart of Redis there may be many.
  for (let page = await jobs.orphaned(); page.length > 0; page = await jobs.orphaned(page.at(-1))) {
    for (const job of page) {
      const queue = queues.of(job.accelerator);
      const state = await queue.getJobState(job.id);
      if (state === 'unknown' || state === 'completed' || state === 'failed') {
        // A finished message for an unfinished job was lost work (a worker gone mid-hand-back, or the
        // queue giving up during an outage). The runner's attempt count still stops a job that kills workers.
        if (state !== 'unknown') await queue.remove(job.id).catch(() => undefined);
        await enqueueTraining(queues, job);
        requeued.push(job.id);
        logger.warn(
          { jobId: job.id, status: job.status, queueState: state },
          'job was missing from the queue; queued again',
        );
      }
    }
  }
  return requeued;
}
