import type { JobEvent } from '../../events/job-events.js';
import { terminalStatuses, type JobStatus, type JobWithEpochs, type StepRecord } from '../../store/jobs-repository.js';
import type { StepRun } from '../../domain/metrics.js';
import type { EventHub } from './event-hub.js';
import { epochMetrics, specOf } from '../jobs/job-view.js';
import { stepsPerEpoch } from '../../history/compare.js';
import type { JobsService } from '../jobs/jobs-service.js';
import type { JobStreamMessage } from './schemas.js';

const terminal = new Set<string>(terminalStatuses);
const stepsPerMessage = 1000;

/** A message on a job's WebSocket; `seq` grows by one per message on the connection. */
export type StreamMessage = JobStreamMessage;

type Unsequenced<T> = T extends unknown ? Omit<T, 'seq'> : never;

export interface JobStreamDeps {
  jobId: string;
  /** Replay steps after this one (0 replays everything). */
  since: number;
  /** Where the job and its recorded steps are read. */
  jobs: Pick<JobsService, 'find' | 'stepsAfter' | 'perClassAccuracy'>;
  hub: EventHub;
  send: (message: StreamMessage) => void;
  /**
   * Resolves true when the client has read enough of what was sent to take more, false when it is
   * gone (read too slowly, or closed): the replay reads the next page only after it.
   */
  drain?: () => Promise<boolean>;
  /** Called once the terminal status was sent. */
  finish: () => void;
}

/**
 * What one connection has been sent so far, and the only way to send more: numbered, without
 * duplicates, and nothing after the terminal status.
 */
function createSender({ jobId, since, send, finish }: Pick<JobStreamDeps, 'jobId' | 'since' | 'send' | 'finish'>) {
  const sent = { seq: 0, lastStep: since, lastEpoch: 0, lastStatus: '', done: false };

  const emit = (message: Unsequenced<StreamMessage>) => {
    if (sent.done) return;
    sent.seq += 1;
    send({ seq: sent.seq, ...message });
    if (message.type === 'status' && terminal.has(message.status)) {
      sent.done = true;
      finish();
    }
  };

  const emitSteps = (steps: readonly StepRecord[]) => {
    const fresh = steps.filter((step) => step.step > sent.lastStep);
    for (let start = 0; start < fresh.length; start += stepsPerMessage) {
      const chunk = fresh.slice(start, start + stepsPerMessage);
      sent.lastStep = (chunk[chunk.length - 1] as StepRecord).step;
      emit({ type: 'steps', jobId, steps: chunk });
    }
  };

  const deliver = (event: JobEvent) => {
    if (event.type === 'steps') emitSteps(event.steps);
    else if (event.type === 'epoch') {
      if (event.epoch <= sent.lastEpoch) return;
      sent.lastEpoch = event.epoch;
      emit(event);
    } else if (event.status !== sent.lastStatus) {
      sent.lastStatus = event.status;
      // Statuses come from the store's list; events carry them as plain strings.
      emit({ type: 'status', jobId, status: event.status as JobStatus, error: event.error });
    }
  };

  const deliverEpoch = (metrics: JobWithEpochs['epochs'][number], perClassAccuracy?: (number | null)[]) =>
    deliver({ type: 'epoch', jobId, ...epochMetrics(metrics), ...(perClassAccuracy ? { perClassAccuracy } : {}) });

  return { sent, emitSteps, deliver, deliverEpoch };
}

type Sender = ReturnType<typeof createSender>;

/**
 * Sends everything Postgres holds beyond what was sent: on connect, and after Redis reconnects.
 * Each epoch's metrics go out after its steps and before the next epoch's first step, the order a
 * live client sees.
 */
async function replay(
  { jobId, since, jobs, drain }: Required<Pick<JobStreamDeps, 'jobId' | 'since' | 'jobs' | 'drain'>>,
  sender: Sender,
): Promise<void> {
  const { sent } = sender;
  // The job first: once it has ended, all its steps are in Postgres (a worker writes them before
  // the final status), so reading them afterwards misses none.
  const job = await jobs.find(jobId);
  if (!job) return;
  // Epochs that ended before `since` count as seen: a client that saw a step of the next epoch saw
  // them first. One that ends at `since` may not have reached it (its metrics follow its last step),
  // so it goes again; clients drop an epoch they already have.
  if (sent.seq === 0 && since > 0)
    sent.lastEpoch = Math.floor((since - 1) / stepsPerEpoch(job.totalSteps, specOf(job).epochs));
  const epochsBefore = epochsBeforeStep(jobId, job, jobs, sender);
  // Read a page at a time, as compact runs, and sent a message at a time, each once the client has
  // caught up: replaying a million steps needs neither the memory for all of it nor a client that
  // reads instantly. Postgres is never more than one page ahead of what the client has taken (the
  // next is read while this one goes out), and a client that has gone ends the stream.
  for await (const runs of jobs.stepsAfter(jobId, sent.lastStep)) {
    for (const steps of messageSlices(runs)) {
      if (sent.done) return;
      await epochsBefore((steps[0] as StepRecord).epoch);
      sender.emitSteps(steps);
      if (!(await drain())) sent.done = true;
    }
    if (sent.done) return;
  }
  // Only epochs the job had when first read: all their steps are in the history just sent. Later
  // ones may end after it, and arrive live.
  const perClass = job.epochs.length > 0 ? await jobs.perClassAccuracy(jobId) : new Map<number, (number | null)[]>();
  for (const metrics of job.epochs) sender.deliverEpoch(metrics, perClass.get(metrics.epoch));
  sender.deliver({ type: 'status', jobId, status: job.status, error: job.error });
}

/**
 * A page's steps as the messages that carry them: at most `stepsPerMessage` each, cut where the epoch
 * changes. Each message's step objects are made only when it is due, so they never outlive it.
 */
function* messageSlices(runs: readonly StepRun[]): Generator<StepRecord[]> {
  let slice: StepRecord[] = [];
  for (const { firstStep, epoch, losses } of runs) {
    if (slice.length > 0 && (slice[0] as StepRecord).epoch !== epoch) {
      yield slice;
      slice = [];
    }
    for (let index = 0; index < losses.length; index++) {
      slice.push({ step: firstStep + index, epoch, loss: losses[index] as number });
      if (slice.length === stepsPerMessage) {
        yield slice;
        slice = [];
      }
    }
  }
  if (slice.length > 0) yield slice;
}

/**
 * Sends the metrics of every epoch before `epoch`. A worker records an epoch's metrics before any
 * step of the next, so when a step's previous epoch is not among those read, the job row has it by now.
 */
function epochsBeforeStep(jobId: string, job: JobWithEpochs, jobs: JobStreamDeps['jobs'], sender: Sender) {
  let epochs = job.epochs;
  let refreshedFor = 0;
  return async (epoch: number) => {
    const missing = !epochs.some((metrics) => metrics.epoch === epoch - 1);
    if (epoch - 1 > sender.sent.lastEpoch && epoch > refreshedFor && missing) {
      refreshedFor = epoch;
      epochs = (await jobs.find(jobId))?.epochs ?? epochs;
    }
    for (const metrics of epochs) if (metrics.epoch < epoch) sender.deliverEpoch(metrics);
  };
}

/**
 * Feeds one WebSocket: subscribes first, replays from Postgres what the client has not seen, then
 * passes live events through, dropping anything already sent, so the seam has no gap and no duplicate.
 */
export function createJobStream({ drain = () => Promise.resolve(true), ...deps }: JobStreamDeps) {
  const sender = createSender(deps);
  let replaying = true;
  let buffered: JobEvent[] = [];
  let unsubscribe: (() => Promise<void>) | undefined;

  // Ends a replay: what arrived live meanwhile goes out now, minus anything the replay already sent.
  const releaseBuffered = () => {
    replaying = false;
    const held = buffered;
    buffered = [];
    held.forEach(sender.deliver);
  };

  return {
    async start(): Promise<void> {
      const listener = (event: JobEvent) => (replaying ? buffered.push(event) : sender.deliver(event));
      unsubscribe = await deps.hub.subscribeJob(deps.jobId, listener);
      // The client may have gone while we subscribed; stop() could not unsubscribe then.
      if (sender.sent.done) {
        await unsubscribe();
        return;
      }
      await replay({ ...deps, drain }, sender);
      releaseBuffered();
    },
    /** Catches up from Postgres after live events may have been lost. */
    async resync(): Promise<void> {
      if (sender.sent.done || replaying) return;
      replaying = true;
      try {
        await replay({ ...deps, drain }, sender);
      } finally {
        releaseBuffered();
      }
    },
    async stop(): Promise<void> {
      sender.sent.done = true;
      await unsubscribe?.();
    },
  };
}
