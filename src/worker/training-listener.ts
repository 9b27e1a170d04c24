import type { Evaluation } from '../domain/evaluation.js';
import type { Checkpoint, EpochMetrics, StepLoss, StoppedEarly } from '../training/train.js';
import type { EpochModel } from './thread-protocol.js';

/** Who hears what a training thread reports about its job. */
export interface TrainingListener {
  onSteps(steps: StepLoss[]): void;
  onEpoch(metrics: EpochMetrics, evaluation?: Evaluation): void;
  /** The model as an epoch left it; comes after that epoch's `onEpoch` and before its checkpoint. */
  onModel(model: EpochModel): void;
  onCheckpoint(checkpoint: Checkpoint): void;
}

/** How a job's training ended, with the tensors its thread still held (-1 when the thread died). */
export type TrainingOutcome =
  | { outcome: 'completed' | 'stopped'; steps: number; numTensors: number; stoppedEarly?: StoppedEarly }
  | { outcome: 'failed'; code: string; message: string; numTensors: number };
