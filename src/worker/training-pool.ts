import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from '../domain/job-spec.js';
import type { BackendName, BackendPreference } from '../training/backend.js';
import { DatasetUnavailable, loadDataset, type Dataset } from '../datasets/loading/index.js';
import type { HelperLink } from '../training/split/helper-link.js';
import type { Checkpoint, EpochMetrics } from '../training/train.js';
import { stopSignals, type ThreadSettings, type TrainRequest } from './thread-protocol.js';
import type { TrainingListener, TrainingOutcome } from './training-listener.js';
import { followJob, spawnSlot, type Slot, type ThreadFate } from './training-slot.js';
import { ThreadLending } from './thread-lending.js';

export type { TrainingListener, TrainingOutcome } from './training-listener.js';

export interface RunOptions {
  resume?: Checkpoint;
  /** Metrics of the epochs before `resume`, for the early-stopping rule. */
  previousEpochs?: EpochMetrics[];
  checkpointEverySteps?: number;
}

export interface RunningTraining {
  /**
   * Asks the thread to stop between batches (after a checkpoint of that point, for `checkpoint`);
   * the result then resolves as `stopped`. The first request wins: a cancel is not turned into a
   * hand-over, nor the reverse.
   */
  stop(how?: 'stop' | 'checkpoint'): void;
  result: Promise<TrainingOutcome>;
}

// Threads run compiled JavaScript; from sources (tests, tsx) use the build in dist/.
function defaultThreadFile(): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts'))
    return here.replace(/[\\/]src[\\/]worker[\\/]training-pool\.ts$/, '/dist/worker/training-thread.js');
  return fileURLToPath(new URL('./training-thread.js', import.meta.url));
}

export interface TrainingPoolOptions {
  size?: number;
  backend?: BackendPreference;
  threadFile?: string;
  /** Where a job's dataset comes from (the registered datasets by default). */
  loadDataset?: (name: string) => Promise<Dataset>;
  /** A thread whose WebAssembly heap is larger than this once its job ends is replaced (no limit by default). */
  maxThreadHeapBytes?: number;
  /**
   * Lends idle threads to running dense jobs big enough to gain from a second thread (see
   * src/training/split/lending.ts), taking them back within a step when a job needs one. Off by default.
   */
  lendIdleThreads?: boolean;
}

/**
 * The stop flag lives in shared memory and is read by the thread between batches, so a stop reaches
 * a thread busy in its synchronous training loop at once, without waiting for it to read messages.
 */
function stopperOf(stopFlag: Int32Array): RunningTraining['stop'] {
  return (how = 'stop') => void Atomics.compareExchange(stopFlag, 0, stopSignals.none, stopSignals[how]);
}

function trainRequest(
  jobId: string,
  spec: JobSpec,
  dataset: Dataset,
  stopFlag: Int32Array,
  options: RunOptions,
  link: HelperLink | undefined,
): TrainRequest {
  return {
    type: 'train',
    jobId,
    spec,
    dataset,
    stopFlag,
    checkpointEverySteps: options.checkpointEverySteps ?? 0,
    ...(link ? { helperLink: { shape: link.shape, buffer: link.buffer } } : {}),
    ...(options.resume ? { resume: options.resume } : {}),
    ...(options.previousEpochs?.length ? { previousEpochs: options.previousEpochs } : {}),
  };
}

function unavailable(error: DatasetUnavailable): RunningTraining {
  const outcome: TrainingOutcome = {
    outcome: 'failed',
    code: 'dataset_unavailable',
    message: error.message,
    numTensors: 0,
  };
  return { stop: () => undefined, result: Promise.resolve(outcome) };
}

/**
 * A fixed set of training threads, one job each at a time. Datasets are loaded once in this
 * process into shared memory and lent to every thread. With `lendIdleThreads`, a thread no job
 * needs helps a running one with its steps until a job needs it (thread-lending.ts).
 */
export function createTrainingPool(options: TrainingPoolOptions = {}) {
  const size = options.size ?? os.availableParallelism();
  const threadFile = options.threadFile ?? defaultThreadFile();
  const settings: ThreadSettings = { backend: options.backend ?? 'auto' };
  const datasetOf = options.loadDataset ?? loadDataset;
  const maxHeapBytes = options.maxThreadHeapBytes ?? Number.POSITIVE_INFINITY;
  const slots: Slot[] = Array.from({ length: size }, () => spawnSlot(threadFile, settings));
  let closed = false;
  function replace(slot: Slot): void {
    const index = slots.indexOf(slot);
    void slot.thread.terminate();
    if (index >= 0 && !closed) slots[index] = spawnSlot(threadFile, settings);
  }

  const lending = new ThreadLending(slots, options.lendIdleThreads ?? false, replace, maxHeapBytes);
  async function start(slot: Slot, jobId: string, spec: JobSpec, listener: TrainingListener, options: RunOptions) {
    const backend = await slot.ready;
    const dataset = await datasetOf(spec.dataset);
    const stopFlag = new Int32Array(new SharedArrayBuffer(4));
    const link = lending.linkFor(spec, dataset, backend);
    const result = followJob(slot, jobId, listener, maxHeapBytes, (fate: ThreadFate) => {
      if (link) lending.forget(link);
      if (fate !== 'reusable') replace(slot);
      lending.lendIdle();
    });
    slot.thread.postMessage(trainRequest(jobId, spec, dataset, stopFlag, options, link));
    if (link) lending.borrow(link);
    return { stop: stopperOf(stopFlag), result };
  }

  return {
    size,

    /** Resolves with the backend the threads use once all of them are ready. */
    ready: async (): Promise<BackendName> => (await Promise.all(slots.map((slot) => slot.ready)))[0] as BackendName,

    /** Trains `spec` on a free thread; throws if none is free (callers keep concurrency <= size). */
    async run(
      jobId: string,
      spec: JobSpec,
      listener: TrainingListener,
      runOptions: RunOptions = {},
    ): Promise<RunningTraining> {
      const slot = await lending.takeFreeSlot();
      if (!slot) throw new Error('no free training thread');
      try {
        return await start(slot, jobId, spec, listener, runOptions);
      } catch (error) {
        slot.busy = false;
        lending.lendIdle();
        // Retrying cannot bring a missing dataset back: the job fails, saying why.
        if (error instanceof DatasetUnavailable) return unavailable(error);
        throw error;
      }
    },

    /** Threads lent to running jobs now. */
    lentThreads: (): number => lending.lentThreads(),

    /** The Linux thread ids of the training threads that are up (for accounting their CPU time). */
    threadIds(): number[] {
      return slots.flatMap((slot) => (slot.threadId === undefined ? [] : [slot.threadId]));
    },

    async close(): Promise<void> {
      closed = true;
      await Promise.all(slots.map((slot) => slot.thread.terminate()));
    },
  };
}

export type TrainingPool = ReturnType<typeof createTrainingPool>;
