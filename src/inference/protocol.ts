// Messages between the predictor (API side) and its threads: inference threads and image decoders.
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

export interface InferenceTask {
  /** The model's content hash; threads cache loaded models under it. */
  key: string;
  /** The model's files, in shared memory (posting them to a thread copies nothing). */
  files: ModelFiles;
  /** Raw values, `rows` x `features`, row-major; preprocessed in the thread (the buffer is handed over). */
  inputs: Float32Array;
  rows: number;
  features: number;
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
}

/**
 * Encoded PNG or JPEG images for a decoder thread, end to end in `bytes` (handed over), image `i`
 * ending at `ends[i]`; each becomes the model's `[height, width]` grey input as `preprocess` says.
 */
export interface DecodeTask {
  bytes: Uint8Array;
  ends: Uint32Array;
  /** The request's index of the first image here, so a problem names the image the client sent. */
  firstIndex: number;
  preprocess: ImagePreprocess;
  height: number;
  width: number;
}

/** Grey values 0..255, one row of `height` x `width` an image (handed back); or the first undecodable image. */
export type DecodeResult = { ok: true; inputs: Float32Array } | { ok: false; issue: PredictIssue };
