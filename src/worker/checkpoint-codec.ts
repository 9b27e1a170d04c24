import type { StoredCheckpoint } from '../store/jobs-repository.js';
import type { Checkpoint } from '../training/train.js';

interface TensorEntry {
  name: string;
  shape: number[];
  /** Offset and length in float32 elements within the tensors blob. */
  offset: number;
  length: number;
}

interface CheckpointState {
  version: 1;
  shuffleState: number;
  epochLossSum: number;
  /** Batches done in the epoch in progress; absent in checkpoints written before it was recorded. */
  batch?: number;
  weights: TensorEntry[];
  optimizer: TensorEntry[];
}

/** Packs a checkpoint into one blob of float32 values plus a JSON description of it. */
export function encodeCheckpoint(checkpoint: Checkpoint): StoredCheckpoint {
  const all = [...checkpoint.weights, ...checkpoint.optimizer];
  const total = all.reduce((sum, tensor) => sum + tensor.values.length, 0);
  const blob = new Float32Array(total);
  let offset = 0;
  const describe = (tensors: Checkpoint['weights']): TensorEntry[] =>
    tensors.map((tensor) => {
      blob.set(tensor.values, offset);
      const entry = { name: tensor.name, shape: tensor.shape, offset, length: tensor.values.length };
      offset += tensor.values.length;
      return entry;
    });
  const state: CheckpointState = {
    version: 1,
    shuffleState: checkpoint.shuffleState,
    epochLossSum: checkpoint.epochLossSum,
    ...(checkpoint.batch === undefined ? {} : { batch: checkpoint.batch }),
    weights: describe(checkpoint.weights),
    optimizer: describe(checkpoint.optimizer),
  };
  return { step: checkpoint.step, epoch: checkpoint.epoch, state, tensors: new Uint8Array(blob.buffer) };
}

export function decodeCheckpoint(stored: StoredCheckpoint): Checkpoint {
  const state = stored.state as CheckpointState;
  if (state.version !== 1) throw new Error(`unknown checkpoint version ${String(state.version)}`);
  // Copy into an aligned buffer: a Buffer from the driver may start at any byte offset.
  const blob = new Float32Array(new Uint8Array(stored.tensors).buffer);
  const read = (entries: TensorEntry[]) =>
    entries.map((entry) => ({
      name: entry.name,
      shape: entry.shape,
      values: blob.slice(entry.offset, entry.offset + entry.length),
    }));
  return {
    step: stored.step,
    epoch: stored.epoch,
    shuffleState: state.shuffleState,
    epochLossSum: state.epochLossSum,
    ...(state.batch === undefined ? {} : { batch: state.batch }),
    weights: read(state.weights),
    optimizer: read(state.optimizer),
  };
}
