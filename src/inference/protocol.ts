// Messages between the predictor (API side) and its inference threads.
import type { ImagePreprocess } from '../domain/image-preprocessing.js';
import type { PredictIssue } from './validation.js';

/** How raw input values become model input: (raw * scale - mean) / std. */
export interface Preprocessing {
  scale: number;
  mean: number;
  std: number;
}

/** The two files of a model in TensorFlow.js layers format. */
export interface ModelFiles {
  modelJson: Uint8Array;
  weights: Uint8Array;
}

/** Raw values, `rows` x `features`, row-major; preprocessed in the thread (the buffer is handed over). */
export interface ValueRows {
  kind: 'values';
  inputs: Float32Array;
}

/**
 * Encoded PNG or JPEG images, one a row, end to end in `bytes` (handed over), image `i` ending at
 * `ends[i]`; decoded and made the model's `[height, width]` grey input in the thread.
 */
export interface ImageRows {
  kind: 'images';
  bytes: Uint8Array;
  ends: Uint32Array;
  /** The request's index of the first image here, so problems name the image the client sent. */
  firstIndex: number;
  preprocess: ImagePreprocess;
  height: number;
  width: number;
}

export interface InferenceTask {
  /** The model's content hash; threads cache loaded models under it. */
  key: string;
  /** The model's files, in shared memory (posting them to a thread copies nothing). */
  files: ModelFiles;
  rows: number;
  features: number;
  source: ValueRows | ImageRows;
  preprocessing: Preprocessing;
  topK: number;
  /** Bound of the thread's cache of loaded models, in bytes of weights. */
  cacheBytes: number;
}

export interface InferenceResult {
  /** `rows` x `topK` labels, most likely first. */
  labels: Int32Array;
  /** The probabilities of `labels`. */
  probabilities: Float32Array;
  classCount: number;
  /** Whether this task had to build the model in its thread (a cache miss there). */
  built: boolean;
  /** Images that could not be decoded (nothing was predicted then). */
  imageIssues?: PredictIssue[];
}
