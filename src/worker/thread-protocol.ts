import type { JobSpec } from '../domain/job-spec.js';
import type { BackendName, BackendPreference } from '../training/backend.js';
import type { Dataset } from '../training/datasets/index.js';
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
}

export type ThreadMessage =
  | { type: 'ready'; backend: BackendName }
  | { type: 'startup-failed'; message: string }
  | { type: 'steps'; jobId: string; steps: StepLoss[] }
  | { type: 'epoch'; jobId: string; metrics: EpochMetrics }
  | { type: 'checkpoint'; jobId: string; checkpoint: Checkpoint }
  | {
      type: 'finished';
      jobId: string;
      outcome: 'completed' | 'stopped';
      steps: number;
      numTensors: number;
      stoppedEarly?: StoppedEarly;
    }
  | { type: 'failed'; jobId: string; code: string; message: string; numTensors: number };
