import type { Redis } from 'ioredis';
import type { EpochMetrics, StepLoss } from '../spec/metrics.js';

/** What workers (and the API, for queued and cancelled jobs) announce about jobs, through Redis. */
export type JobEvent =
  | { type: 'steps'; jobId: string; steps: StepLoss[] }
  | ({ type: 'epoch'; jobId: string } & EpochMetrics)
  | { type: 'status'; jobId: string; status: string; error: string | null };

/** Every event of one job. */
export const jobChannel = (prefix: string, jobId: string) => `${prefix}:events:job:${jobId}`;
/** Status and epoch events of all jobs, for dashboards. */
export const allJobsChannel = (prefix: string) => `${prefix}:events:all`;

export type PublishEvent = (event: JobEvent) => Promise<void>;

/**
 * Publishes to the job's channel (and, for status and epoch events, the all-jobs channel).
 * Publishing is best effort: Postgres holds the record, and subscribers replay from it.
 */
export function createEventPublisher(redis: Redis, prefix: string, onError: (error: unknown) => void): PublishEvent {
  return async (event) => {
    const payload = JSON.stringify(event);
    try {
      const pipeline = redis.pipeline().publish(jobChannel(prefix, event.jobId), payload);
      if (event.type !== 'steps') pipeline.publish(allJobsChannel(prefix), payload);
      await pipeline.exec();
    } catch (error) {
      onError(error);
    }
  };
}
