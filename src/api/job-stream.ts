import type { JobEvent } from '../events/job-events.js';
import { terminalStatuses, type JobsRepository, type StepRecord } from '../store/jobs-repository.js';
import type { EventHub } from './event-hub.js';

const terminal = new Set<string>(terminalStatuses);
const stepsPerMessage = 1000;

/** A message on a job's WebSocket; `seq` grows by one per message on the connection. */
export type StreamMessage =
  | { seq: number; type: 'steps'; jobId: string; steps: StepRecord[] }
  | ({ seq: number } & Extract<JobEvent, { type: 'epoch' }>)
  | { seq: number; type: 'status'; jobId: string; status: string; error: string | null };

type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;

export interface JobStreamDeps {
  jobId: string;
  /** Replay steps after this one (0 replays everything). */
  since: number;
  jobs: Pick<JobsRepository, 'find' | 'history'>;
  hub: EventHub;
  send(message: StreamMessage): void;
  /** Resolves when the client has read enough of what was sent to take more (used while replaying). */
  drain?(): Promise<void>;
  /** Called once the terminal status was sent. */
  finish(): void;
}

/**
 * Feeds one WebSocket: subscribes first, replays from Postgres what the client has not seen, then
 * passes live events through, dropping anything already sent, so the seam has no gap and no duplicate.
 */
export function createJobStream({ jobId, since, jobs, hub, send, drain = async () => undefined, finish }: JobStreamDeps) {
  let seq = 0;
  let lastStep = since;
  let lastEpoch = 0;
  let lastStatus = '';
  let done = false;
  let replaying = true;
  let buffered: JobEvent[] = [];
  let unsubscribe: (() => Promise<void>) | undefined;

  const emit = (message: Unsequenced<StreamMessage>) => {
    if (done) return;
    seq += 1;
    send({ seq, ...message } as StreamMessage);
    if (message.type === 'status' && terminal.has(message.status)) {
      done = true;
      finish();
    }
  };

  const emitSteps = (steps: readonly StepRecord[]) => {
    const fresh = steps.filter((step) => step.step > lastStep);
    for (let start = 0; start < fresh.length; start += stepsPerMessage) {
      const chunk = fresh.slice(start, start + stepsPerMessage);
      lastStep = (chunk[chunk.length - 1] as StepRecord).step;
      emit({ type: 'steps', jobId, steps: chunk });
    }
  };

  // A long history goes out a message at a time, each once the client has caught up, so replaying
  // a million steps needs neither the memory for all of it nor a client that reads instantly.
  const replaySteps = async (steps: readonly StepRecord[]) => {
    const fresh = steps.filter((step) => step.step > lastStep);
    for (let start = 0; start < fresh.length && !done; start += stepsPerMessage) {
      emitSteps(fresh.slice(start, start + stepsPerMessage));
      await drain();
    }
  };

  const deliver = (event: JobEvent) => {
    if (event.type === 'steps') emitSteps(event.steps);
    else if (event.type === 'epoch') {
      if (event.epoch <= lastEpoch) return;
      lastEpoch = event.epoch;
      emit(event);
    } else if (event.status !== lastStatus) {
      lastStatus = event.status;
      emit({ type: 'status', jobId, status: event.status, error: event.error });
    }
  };

  /** Sends everything Postgres holds beyond what was sent: on connect, and after Redis reconnects. */
  async function replay(): Promise<void> {
    // History first, then the job: every epoch the job row lists has its steps in that history
    // already (a worker writes an epoch's steps before its metrics), so the order stays right.
    let history = await jobs.history(jobId, lastStep);
    const job = await jobs.find(jobId);
    if (!job) return;
    if (seq === 0 && since > 0) {
      // Epochs that ended at or before `since` count as seen.
      const stepsPerEpoch = job.totalSteps / Math.max(1, (job.spec as { epochs?: number }).epochs ?? 1);
      lastEpoch = Math.floor(since / stepsPerEpoch);
    }
    for (const metrics of job.epochs) {
      if (metrics.epoch <= lastEpoch) continue;
      // Steps of this epoch first, then its metrics: the order a live client sees.
      await replaySteps(history.filter((step) => step.epoch <= metrics.epoch));
      deliver({
        type: 'epoch',
        jobId,
        epoch: metrics.epoch,
        testAccuracy: metrics.testAccuracy,
        testLoss: metrics.testLoss,
        trainLoss: metrics.trainLoss,
        samplesPerSecond: metrics.samplesPerSecond,
        durationMs: metrics.durationMs,
      });
    }
    await replaySteps(history);
    if (terminal.has(job.status)) {
      // The job ended after the history was read: its last steps are in Postgres now.
      history = await jobs.history(jobId, lastStep);
      await replaySteps(history);
    }
    deliver({ type: 'status', jobId, status: job.status, error: job.error });
  }

  return {
    async start(): Promise<void> {
      unsubscribe = await hub.subscribeJob(jobId, (event) => (replaying ? buffered.push(event) : deliver(event)));
      // The client may have gone while we subscribed; stop() could not unsubscribe then.
      if (done) {
        await unsubscribe();
        return;
      }
      await replay();
      replaying = false;
      const held = buffered;
      buffered = [];
      held.forEach(deliver);
    },
    /** Catches up from Postgres after live events may have been lost. */
    async resync(): Promise<void> {
      if (done || replaying) return;
      replaying = true;
      try {
        await replay();
      } finally {
        replaying = false;
        const held = buffered;
        buffered = [];
        held.forEach(deliver);
      }
    },
    async stop(): Promise<void> {
      done = true;
      await unsubscribe?.();
    },
  };
}
