import * as tf from '@tensorflow/tfjs';
import { stepwisePower, type NamedTensor } from './fused-optimizer.js';
import type { Model } from './model.js';

/** What a checkpoint needs of an optimizer: its slots and iteration count, as tfjs's optimizers name them. */
export interface OptimizerState {
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weights: NamedTensor[]): Promise<void>;
}

/** A named tensor's values, detached from any backend. */
export interface TensorRecord {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Everything needed to continue training exactly where it was taken. */
export interface Checkpoint {
  /** Global steps done. */
  step: number;
  /** Epochs completed (their metrics were reported). */
  epoch: number;
  /**
   * Batches done in the epoch after `epoch` (0 at an epoch's end). Absent in checkpoints from before
   * it was recorded, whose position follows from `step` and the epoch's batch count.
   */
  batch?: number;
  /** Set on the checkpoint taken at the end of an epoch, after its metrics: the one a run keeps. */
  atEpochEnd?: boolean;
  /** Shuffle generator state before the current (or next) epoch's shuffle. */
  shuffleState: number;
  /** Sum of the current epoch's step losses so far, for its mean train loss. */
  epochLossSum: number;
  weights: TensorRecord[];
  optimizer: TensorRecord[];
}

function record(name: string, tensor: tf.Tensor): TensorRecord {
  return { name, shape: [...tensor.shape], values: Float32Array.from(tensor.dataSync()) };
}

/** Reads the model's weights and the optimizer's slots off the backend. */
export async function captureState(
  model: Model,
  optimizer: OptimizerState,
): Promise<Pick<Checkpoint, 'weights' | 'optimizer'>> {
  const slots = await optimizer.getWeights();
  try {
    return {
      weights: model.state.map((variable) => record(variable.name, variable)),
      optimizer: slots.map((slot) => record(slot.name, slot.tensor)),
    };
  } finally {
    // getWeights hands out fresh tensors for some entries (the iteration count); variables stay.
    for (const slot of slots) if (!(slot.tensor instanceof tf.Variable)) slot.tensor.dispose();
  }
}

/** Puts checkpointed weights back into the model; shapes must match it. */
export function restoreWeights(model: Model, weights: readonly TensorRecord[]): void {
  if (weights.length !== model.state.length) {
    throw new Error(`checkpoint holds ${weights.length} weight tensors, the model has ${model.state.length}`);
  }
  model.state.forEach((variable, index) => {
    const saved = weights[index] as TensorRecord;
    if (saved.shape.join('x') !== variable.shape.join('x')) {
      throw new Error(
        `checkpoint weight ${saved.name} has shape ${saved.shape.join(',')}, the model wants ${variable.shape.join(',')}`,
      );
    }
    tf.tidy(() => variable.assign(tf.tensor(saved.values, saved.shape)));
  });
}

/** Puts checkpointed weights and optimizer slots back; shapes must match the model. */
export async function restoreState(
  model: Model,
  optimizer: OptimizerState,
  checkpoint: Pick<Checkpoint, 'weights' | 'optimizer'>,
): Promise<void> {
  restoreWeights(model, checkpoint.weights);
  // A checkpoint without slots (a fork that changes the optimizer) leaves the fresh optimizer as it is.
  if (checkpoint.optimizer.length === 0) return;
  const slots = checkpoint.optimizer.map((slot) => ({ name: slot.name, tensor: tf.tensor(slot.values, slot.shape) }));
  try {
    await optimizer.setWeights(slots);
  } finally {
    for (const slot of slots) slot.tensor.dispose();
  }
  if (optimizer instanceof tf.AdamOptimizer) restoreAdamBetaPowers(optimizer);
}

// Adam's setWeights recomputes beta1^t and beta2^t with pow, while training multiplies them by beta
// every step; the two differ in the last bit at some steps, which would make a resumed run drift from
// an uninterrupted one. Field names are tfjs 4.22's, pinned with the fast path.
function restoreAdamBetaPowers(optimizer: tf.AdamOptimizer): void {
  const adam = optimizer as unknown as {
    beta1: number;
    beta2: number;
    iterations_: number;
    accBeta1?: tf.Variable;
    accBeta2?: tf.Variable;
  };
  const { accBeta1, accBeta2 } = adam;
  if (accBeta1 === undefined || accBeta2 === undefined) return;
  tf.tidy(() => {
    accBeta1.assign(tf.scalar(stepwisePower(adam.beta1, adam.iterations_)));
    accBeta2.assign(tf.scalar(stepwisePower(adam.beta2, adam.iterations_)));
  });
}
