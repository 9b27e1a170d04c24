import type { DatasetInfo } from '../../domain/datasets.js';

/** One split, ready to train on: inputs scaled, normalised and flattened, one row per example. */
export interface DatasetSplit {
  /** count x features, row-major. Backed by a SharedArrayBuffer so threads share one copy. */
  readonly inputs: Float32Array;
  /** Class of each example; 16 bits for datasets of more than 256 classes. */
  readonly labels: Labels;
  readonly count: number;
  readonly features: number;
}

export type Labels = Uint8Array | Uint16Array;

export interface Dataset {
  readonly info: DatasetInfo;
  readonly train: DatasetSplit;
  readonly test: DatasetSplit;
}

/** Pixels / maxRawValue, then (x - mean) / std, into shared memory (see `preprocessingOf`). */
export function normalisePixels(pixels: Uint8Array, info: DatasetInfo): Float32Array {
  const inputs = new Float32Array(new SharedArrayBuffer(pixels.length * Float32Array.BYTES_PER_ELEMENT));
  const scale = 1 / (info.maxRawValue * info.std);
  const shift = info.mean / info.std;
  for (let index = 0; index < pixels.length; index++) inputs[index] = (pixels[index] as number) * scale - shift;
  return inputs;
}

export function sharedCopy(values: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(values.length));
  copy.set(values);
  return copy;
}

/** A dataset that cannot be had: unknown, deleted since the job was queued. Jobs on it fail rather than retry. */
export class DatasetUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetUnavailable';
  }
}
