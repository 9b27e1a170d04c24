import type { DatasetInfo } from '../domain/datasets.js';
import type { JobSpec } from '../domain/job-spec.js';
import { trainPoolCount, validationSampleCount } from '../domain/model-shape.js';
import type { DatasetSplit } from '../datasets/loading/index.js';
import { Random } from './random.js';

/** A job's training pool divided into the examples it trains on and those it validates on. */
export interface ValidationSplit {
  /** Indices into the training split of the examples trained on, ascending. */
  trainIndices: Uint32Array;
  /** Indices of the held-out examples, ascending. */
  validationIndices: Uint32Array;
  /** The held-out examples, copied out, in the order of `validationIndices`. */
  validation: DatasetSplit;
}

// Its own stream, so the split does not move when the shuffle or the initialisation change.
const SPLIT_SALT = 0x7a11d5e7;

/**
 * Holds out a seeded random part of the job's training pool (its first `trainSamples` examples):
 * the same spec and seed always hold out the same examples. Undefined without a validation split.
 */
export function validationSplit(spec: JobSpec, split: DatasetSplit, info: DatasetInfo): ValidationSplit | undefined {
  const held = validationSampleCount(spec, info);
  if (held === 0) return undefined;
  const pool = trainPoolCount(spec, info);
  const order = new Uint32Array(pool);
  for (let index = 0; index < pool; index++) order[index] = index;
  new Random(((spec.seed ?? 0) ^ SPLIT_SALT) >>> 0).shuffle(order);
  const validationIndices = order.slice(0, held).sort();
  const trainIndices = order.slice(held).sort();
  const { features } = split;
  const inputs = new Float32Array(held * features);
  const labels = split.labels instanceof Uint16Array ? new Uint16Array(held) : new Uint8Array(held);
  validationIndices.forEach((source, row) => {
    inputs.set(split.inputs.subarray(source * features, (source + 1) * features), row * features);
    labels[row] = split.labels[source] ?? 0;
  });
  return { trainIndices, validationIndices, validation: { inputs, labels, count: held, features } };
}
