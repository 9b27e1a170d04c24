import type { JobSpec } from '../domain/job-spec.js';
import type { BackendName, BackendPreference } from '../training/backend.js';
import type { Dataset } from '../datasets/loading/index.js';
import type { Evaluation } from '../domain/evaluation.js';
import type { SplitShape } from '../training/split/helper-link.js';
import type { Checkpoint, EpochMetrics, StepLoss, StoppedEarly } from '../training/train.js';

/** Values of a job's stop flag. */
export const stopSignals = { none: 0, stop: 1, checkpoint: 2 } as const;

/** Given to each training thread when it starts. */
export interface ThreadSettings {
  backend: BackendPreference;
}

/** Host -> thread: train one job. Dataset arrays live in shared memory, so this copies nothing big. */
export interface TrainRequest {
  type: 'train';
  jobId: string;
  spec: JobSpec;
  dataset: Dataset;
  /** Element 0 becomes one of `stopSignals` when the host wants training to stop between batches. */
  stopFlag: Int32Array;
  resume?: Checkpoint;
  /** Metrics of the epochs before `resume`, for the early-stopping rule. */
  previousEpochs?: EpochMetrics[];
  checkpointEverySteps: number;
  /** Where an idle thread the pool lends the job meets it (a HelperLink's buffer), if it may have one. */
  helperLink?: { shape: SplitShape; buffer: SharedArrayBuffer };
}

/**
 * Host -> an idle thread: help the job on `link` with its steps until recalled or the job ends, then
 * say `helped`.
 */
export interface HelpRequest {
  type: 'help';
  link: { shape: SplitShape; buffer: SharedArrayBuffer };
}

export type ThreadRequest = TrainRequest | HelpRequest;

/** The model as one epoch left it, in TensorFlow.js layers format. */
export interface EpochModel {
  epoch: number;
  testAccuracy: number;
  /** With a validation split: the epoch's validation accuracy, which `best` is chosen by. */
  validationAccuracy?: number;
  /** model.json, UTF-8. */
  modelJson: Uint8Array;
  /** weights.bin; its buffer is handed over from the thread, not copied. */
  weights: Uint8Array;
  /** The tfjs release that wrote the files. */
  tfjsVersion: string;
}

/** What a thread says of itself when a job ends, for the pool to decide whether it trains again. */
export interface ThreadState {
  /** Tensors it still holds. */
  numTensors: number;
  /** Bytes of its WebAssembly heap, which never shrinks (0 off the wasm backend). */
  heapBytes?: number;
}

export type ThreadMessage =
  /** `threadId` is the thread's Linux thread id, where /proc tells it, for accounting its CPU time. */
  | { type: 'ready'; backend: BackendName; threadId?: number }
  | { type: 'startup-failed'; message: string }
  /** The thread has left the job it was lent to and is free again, unless its heap has grown too large. */
  | ({ type: 'helped' } & ThreadState)
  | { type: 'steps'; jobId: string; steps: StepLoss[] }
  /** An epoch's metrics and, from threads that gather it, its evaluation on the test set. */
  | { type: 'epoch'; jobId: string; metrics: EpochMetrics; evaluation?: Evaluation }
  /** Sent after the epoch's `epoch` message and before its checkpoint. */
  | { type: 'model'; jobId: string; model: EpochModel }
  | { type: 'checkpoint'; jobId: string; checkpoint: Checkpoint }
  | ({
      type: 'finished';
      jobId: string;
      outcome: 'completed' | 'stopped';
      steps: number;
      stoppedEarly?: StoppedEarly;
    } & ThreadState)
  | ({ type: 'failed'; jobId: string; code: string; message: string } & ThreadState);
