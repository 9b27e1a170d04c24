// Messages between the predictor (API side) and its inference threads.

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
