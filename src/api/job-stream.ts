import type { JobEvent } from '../events/job-events.js';
import {
  terminalStatuses,
  type JobsRepository,
  type JobWithEpochs,
  type StepRecord,
} from '../store/jobs-repository.js';
import { stepsPerEpochOf } from './compare.js';
import type { EventHub } from './event-hub.js';
import { epochMetrics } from './job-view.js';

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
  jobs: Pick<JobsRepository, 'find' | 'historyPages'>;
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
export function createJobStream({
  jobId,
  since,
  jobs,
  hub,
  send,
  drain = async () => undefined,
  finish,
}: JobStreamDeps) {
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
    for (let start = 0; start < steps.length && !done; start += stepsPerMessage) {
      emitSteps(steps.slice(start, start + stepsPerMessage));
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

  const deliverEpoch = (metrics: JobWithEpochs['epochs'][number]) =>
    deliver({ type: 'epoch', jobId, ...epochMetrics(metrics) });

  /** Sends everything Postgres holds beyond what was sent: on connect, and after Redis reconnects. */
  async function replay(): Promise<void> {
    // The job first: once it has ended, all its steps are in Postgres (a worker writes them before
    // the final status), so reading them afterwards misses none.
    const job = await jobs.find(jobId);
    if (!job) return;
    if (seq === 0 && since > 0) {
      // Epochs that ended at or before `since` count as seen.
      lastEpoch = Math.floor(since / stepsPerEpochOf(job));
    }
    // Each epoch's metrics go out after its steps and before the next epoch's first step, the order a
    // live client sees. A worker records an epoch's metrics before any step of the next, so when a
    // step's previous epoch is not among those read, the job row has it by now.
    let epochs = job.epochs;
    let refreshedFor = 0;
    const deliverEpochsBefore = async (epoch: number) => {
      if (epoch - 1 > lastEpoch && epoch > refreshedFor && !epochs.some((metrics) => metrics.epoch === epoch - 1)) {
        refreshedFor = epoch;
        epochs = (await jobs.find(jobId))?.epochs ?? epochs;
      }
      for (const metrics of epochs) if (metrics.epoch < epoch) deliverEpoch(metrics);
    };
    // Read a page at a time, so replaying a long history never holds it whole.
    for await (const page of jobs.historyPages(jobId, { after: lastStep })) {
      for (let from = 0; from < page.length && !done;) {
        const epoch = (page[from] as StepRecord).epoch;
        let to = from + 1;
        while (to < page.length && (page[to] as StepRecord).epoch === epoch) to += 1;
        await deliverEpochsBefore(epoch);
        await replaySteps(page.slice(from, to));
        from = to;
      }
      if (done) return;
    }
    // Only epochs the job had when first read: all their steps are in the history just sent. Later
    // ones may end after it, and arrive live.
    for (const metrics of job.epochs) deliverEpoch(metrics);
    deliver({ type: 'status', jobId, status: job.status, error: job.error });
  }

  // Ends a replay: what arrived live meanwhile goes out now, minus anything the replay already sent.
  const releaseBuffered = () => {
    replaying = false;
    const held = buffered;
    buffered = [];
    held.forEach(deliver);
  };

  return {
    async start(): Promise<void> {
      unsubscribe = await hub.subscribeJob(jobId, (event) => (replaying ? buffered.push(event) : deliver(event)));
      // The client may have gone while we subscribed; stop() could not unsubscribe then.
      if (done) {
        await unsubscribe();
        return;
      }
      await replay();
      releaseBuffered();
    },
    /** Catches up from Postgres after live events may have been lost. */
    async resync(): Promise<void> {
      if (done || replaying) return;
      replaying = true;
      try {
        await replay();
      } finally {
        releaseBuffered();
      }
    },
    async stop(): Promise<void> {
      done = true;
      await unsubscribe?.();
    },
  };
}
