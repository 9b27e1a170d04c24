import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { JobSpec } from '../domain/job-spec.js';
import type { BackendName, BackendPreference } from '../training/backend.js';
import { loadDataset } from '../training/datasets/index.js';
import type { Checkpoint, EpochMetrics, StepLoss } from '../training/train.js';
import { stopSignals, type ThreadMessage, type ThreadSettings, type TrainRequest } from './thread-protocol.js';

export interface TrainingListener {
  onSteps(steps: StepLoss[]): void;
  onEpoch(metrics: EpochMetrics): void;
  onCheckpoint(checkpoint: Checkpoint): void;
}

export interface RunOptions {
  resume?: Checkpoint;
  checkpointEverySteps?: number;
}

export type TrainingOutcome =
  | { outcome: 'completed' | 'stopped'; steps: number; numTensors: number }
  | { outcome: 'failed'; code: string; message: string; numTensors: number };

export interface RunningTraining {
  /**
   * Asks the thread to stop between batches (after a checkpoint of that point, for `checkpoint`);
   * the result then resolves as `stopped`.
   */
  stop(how?: 'stop' | 'checkpoint'): void;
  result: Promise<TrainingOutcome>;
}

interface Slot {
  thread: Worker;
  ready: Promise<BackendName>;
  busy: boolean;
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
}

/**
 * A fixed set of training threads, one job each at a time. Datasets are loaded once in this
 * process into shared memory and lent to every thread.
 */
export function createTrainingPool(options: TrainingPoolOptions = {}) {
  const size = options.size ?? os.availableParallelism();
  const threadFile = options.threadFile ?? defaultThreadFile();
  const settings: ThreadSettings = { backend: options.backend ?? 'auto' };
  const slots: Slot[] = [];
  let closed = false;

  function spawn(): Slot {
    const thread = new Worker(threadFile, { workerData: settings });
    const ready = new Promise<BackendName>((resolve, reject) => {
      const onMessage = (message: ThreadMessage) => {
        if (message.type === 'ready') resolve(message.backend);
        if (message.type === 'startup-failed') reject(new Error(message.message));
        if (message.type === 'ready' || message.type === 'startup-failed') thread.off('message', onMessage);
      };
      thread.on('message', onMessage);
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`training thread exited with code ${code} while starting`)));
    });
    ready.catch(() => undefined);
    return { thread, ready, busy: false };
  }

  for (let index = 0; index < size; index++) slots.push(spawn());

  // A thread left holding tensors (or variables, whose names later jobs reuse) is replaced by a fresh one.
  function retireIfLeaking(slot: Slot, numTensors: number): void {
    if (numTensors > 0) replace(slot);
  }

  function replace(slot: Slot): void {
    const index = slots.indexOf(slot);
    void slot.thread.terminate();
    if (index >= 0 && !closed) slots[index] = spawn();
  }

  return {
    size,

    /** Resolves with the backend the threads use once all of them are ready. */
    async ready(): Promise<BackendName> {
      const backends = await Promise.all(slots.map((slot) => slot.ready));
      return backends[0] as BackendName;
    },

    /** Trains `spec` on a free thread; throws if none is free (callers keep concurrency <= size). */
    async run(
      jobId: string,
      spec: JobSpec,
      listener: TrainingListener,
      options: RunOptions = {},
    ): Promise<RunningTraining> {
      const slot = slots.find((candidate) => !candidate.busy);
      if (!slot) throw new Error('no free training thread');
      slot.busy = true;
      try {
        await slot.ready;
        const dataset = await loadDataset(spec.dataset);
        const stopFlag = new Int32Array(new SharedArrayBuffer(4));
        const result = new Promise<TrainingOutcome>((resolve) => {
          const cleanup = () => {
            slot.thread.off('message', onMessage);
            slot.thread.off('error', onError);
            slot.thread.off('exit', onExit);
            slot.busy = false;
          };
          const onMessage = (message: ThreadMessage) => {
            if (!('jobId' in message) || message.jobId !== jobId) return;
            if (message.type === 'steps') listener.onSteps(message.steps);
            else if (message.type === 'epoch') listener.onEpoch(message.metrics);
            else if (message.type === 'checkpoint') listener.onCheckpoint(message.checkpoint);
            else if (message.type === 'finished') {
              cleanup();
              retireIfLeaking(slot, message.numTensors);
              resolve({ outcome: message.outcome, steps: message.steps, numTensors: message.numTensors });
            } else if (message.type === 'failed') {
              cleanup();
              retireIfLeaking(slot, message.numTensors);
              resolve({
                outcome: 'failed',
                code: message.code,
                message: message.message,
                numTensors: message.numTensors,
              });
            }
          };
          const onError = (error: Error) => {
            cleanup();
            replace(slot);
            resolve({
              outcome: 'failed',
              code: 'thread_crashed',
              message: `training thread crashed: ${error.message}`,
              numTensors: -1,
            });
          };
          const onExit = (code: number) => onError(new Error(`exited with code ${code}`));
          slot.thread.on('message', onMessage);
          slot.thread.once('error', onError);
          slot.thread.once('exit', onExit);
        });
        const request: TrainRequest = {
          type: 'train',
          jobId,
          spec,
          dataset,
          stopFlag,
          checkpointEverySteps: options.checkpointEverySteps ?? 0,
          ...(options.resume ? { resume: options.resume } : {}),
        };
        slot.thread.postMessage(request);
        return {
          // The first request wins: a cancel is not turned into a hand-over, nor the reverse.
          stop: (how = 'stop') => void Atomics.compareExchange(stopFlag, 0, stopSignals.none, stopSignals[how]),
          result,
        };
      } catch (error) {
        slot.busy = false;
        throw error;
      }
    },

    async close(): Promise<void> {
      closed = true;
      await Promise.all(slots.map((slot) => slot.thread.terminate()));
    },
  };
}

export type TrainingPool = ReturnType<typeof createTrainingPool>;
