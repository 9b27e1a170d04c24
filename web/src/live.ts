import type { ConnectionState, EpochMetrics, Follow, JobStatus, StepLoss } from '@trainer/client';
import { trainer } from './api';

// Live streams through the client's followers: a dropped socket shows as "reconnecting" and is opened
// again with backoff, a job's from the last step seen, so every step and epoch arrives once.

export type Connection = ConnectionState;

interface StreamHandlers {
  onConnection(state: Connection): void;
}

export interface JobStreamHandlers extends StreamHandlers {
  onSteps(steps: StepLoss[]): void;
  onEpoch(metrics: EpochMetrics): void;
  onStatus(status: JobStatus, error: string | null): void;
}

export interface AllJobsHandlers extends StreamHandlers {
  onEpoch(jobId: string, metrics: EpochMetrics): void;
  onStatus(jobId: string, status: JobStatus, error: string | null): void;
}

/** What a page holds of a stream: stop it when the page goes. */
export interface Stream {
  stop(): void;
}

const openStreams = new Set<Follow<unknown, unknown>>();

/** Keeps `follow` in the set `dropAllStreams` breaks, until it is stopped. */
export function held(follow: Follow<unknown, unknown>): Stream {
  openStreams.add(follow);
  return {
    stop() {
      openStreams.delete(follow);
      follow.close();
    },
  };
}

/** Drops every open stream at once, as a network failure would: they show "reconnecting" and resume. */
export function dropAllStreams(): void {
  for (const stream of openStreams) stream.reconnect();
}

/** Follows one job from after `since`: steps, epoch metrics and statuses, each once. */
export function followJob(jobId: string, since: number, handlers: JobStreamHandlers): Stream {
  return held(
    trainer.followJob(jobId, {
      since,
      onConnection: ({ state }) => handlers.onConnection(state),
      onMessage(message) {
        if (message.type === 'steps') handlers.onSteps(message.steps);
        else if (message.type === 'epoch') {
          const { type: _type, jobId: _job, seq: _seq, perClassAccuracy: _perClass, ...metrics } = message;
          handlers.onEpoch(metrics);
        } else handlers.onStatus(message.status, message.error);
      },
    }),
  );
}

/** Status and epoch events of every job (WS /events). */
export function followAllJobs(handlers: AllJobsHandlers): Stream {
  return held(
    trainer.followJobs({
      onConnection: ({ state }) => handlers.onConnection(state),
      onMessage(message) {
        if (message.type === 'epoch') {
          const { type: _type, jobId, seq: _seq, perClassAccuracy: _perClass, ...metrics } = message;
          handlers.onEpoch(jobId, metrics);
        } else handlers.onStatus(message.jobId, message.status, message.error);
      },
    }),
  );
}
