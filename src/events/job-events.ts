import type { ChainableCommander, Redis } from 'ioredis';
import type { EpochMetrics, StepLoss } from '../domain/metrics.js';

/** What workers (and the API, for queued and cancelled jobs) announce about jobs, through Redis. */
export type JobEvent =
  | { type: 'steps'; jobId: string; steps: StepLoss[]; committedAt?: number }
  /** `perClassAccuracy`: each class's test accuracy in label order, when the epoch was evaluated. */
  | ({ type: 'epoch'; jobId: string; perClassAccuracy?: (number | null)[] } & EpochMetrics)
  | { type: 'status'; jobId: string; status: string; error: string | null };

/** Every event of one job. */
export const jobChannel = (prefix: string, jobId: string) => `${prefix}:events:job:${jobId}`;
/** Status and epoch events of all jobs, for dashboards. */
export const allJobsChannel = (prefix: string) => `${prefix}:events:all`;

export type PublishEvent = (event: JobEvent) => void;

/**
 * Publishes to the job's channel (and, for status and epoch events, the all-jobs channel), in
 * order, without waiting: publishing is best effort and must never hold up the writes to Postgres,
 * which holds the record that subscribers replay from. Give it a connection that fails fast.
 * Events published in the same turn of the event loop (a batch of submissions, a flush of steps)
 * go to Redis in one pipeline: one write instead of one per event.
 */
export function createEventPublisher(redis: Redis, prefix: string, onError: (error: unknown) => void): PublishEvent {
  let pending: ChainableCommander | undefined;
  const flush = () => {
    const pipeline = pending;
    pending = undefined;
    pipeline?.exec().catch(onError);
  };
  return (event) => {
    // Steps are published just after their commit: the time they were stamped with is how far
    // behind a WebSocket client sees them (the API's trainer_event_lag_seconds).
    const payload = JSON.stringify(event.type === 'steps' ? { ...event, committedAt: Date.now() } : event);
    if (!pending) {
      pending = redis.pipeline();
      setImmediate(flush);
    }
    pending.publish(jobChannel(prefix, event.jobId), payload);
    if (event.type !== 'steps') pending.publish(allJobsChannel(prefix), payload);
  };
}
