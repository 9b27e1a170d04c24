import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import {
  defaultImagePreprocess,
  imagePreprocesses,
  takesMnistDigits,
  type ImagePreprocess,
} from '../domain/image-preprocessing.js';
import { ByteLru } from './byte-lru.js';
import { createImageDecoder, type ImageDecoder } from './image-decoder.js';
import { checkImages, defaultImageLimits, type ImageLimits } from './images.js';
import type { InferenceResult, InferenceTask, ModelFiles, Preprocessing } from './protocol.js';
import { invalid, packInputs, type InputRange, type Packed, type PredictError } from './validation.js';

export type { ModelFiles, Preprocessing, PredictError };

/** What the predictor needs to know of a model to validate input before loading it. */
export interface PredictorModel {
  /** The content hash of the model's files (the weights artifact's sha256 will do); the cache key. */
  key: string;
  /** Shape of one raw example, e.g. [28, 28, 1]; the model takes it flattened. */
  inputShape: readonly number[];
  preprocessing: Preprocessing;
  classCount: number;
  classNames: readonly string[] | null;
}

/**
 * An untrusted request body: exactly one of `inputs` (raw values) or `images` (base64 PNG/JPEG), and
 * for images how they become input (`preprocess`, by default `mnist` for 28x28 one-channel models).
 */
export interface PredictRequest {
  inputs?: unknown;
  images?: unknown;
  preprocess?: unknown;
  topK?: unknown;
}

export interface Prediction {
  label: number;
  className?: string;
  probabilities: { label: number; probability: number }[];
}

export type PredictOutcome = { ok: true; predictions: Prediction[] } | { ok: false; error: PredictError };

export interface PredictorOptions<M extends PredictorModel = PredictorModel> {
  /**
   * Loads a model's files from wherever they are stored (`model` may carry its artifact ids); called
   * once per `model.key` while the files stay cached, however many requests want them at once.
   */
  loadArtifacts(model: M): Promise<ModelFiles>;
  /** Bound of each model cache (the files here, the loaded models in each thread), in bytes. */
  cacheBytes: number;
  threads?: number;
  maxInputs?: number;
  inputRange?: InputRange;
  imageLimits?: ImageLimits;
  /** Image decoder threads, apart from the inference threads (1 unless told). */
  decodeThreads?: number;
  threadFile?: string;
  decodeThreadFile?: string;
}

// Threads run compiled JavaScript; from sources (tests, tsx) use the build in dist/.
function defaultThreadFile(name: 'inference-thread' | 'decode-thread'): string {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts'))
    return here.replace(/[\\/]src[\\/]inference[\\/]predictor\.ts$/, `/dist/inference/${name}.js`);
  return fileURLToPath(new URL(`./${name}.js`, import.meta.url));
}

// Copied once into shared memory, so handing the files to any thread copies nothing.
function shared(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  copy.set(bytes);
  return copy;
}

function parseTopK(topK: unknown, classCount: number): number | PredictError {
  if (topK === undefined) return Math.min(3, classCount);
  if (typeof topK === 'number' && Number.isInteger(topK) && topK >= 1 && topK <= classCount) return topK;
  return invalid([{ path: 'topK', message: `must be an integer from 1 to ${classCount}` }]);
}

const featuresOf = (model: PredictorModel) => model.inputShape.reduce((product, dimension) => product * dimension, 1);

const refused = (path: string, message: string): Packed => ({ ok: false, error: invalid([{ path, message }]) });

function parsePreprocess(model: PredictorModel, preprocess: unknown): ImagePreprocess | PredictError {
  if (preprocess === undefined) return defaultImagePreprocess(model.inputShape);
  if (!imagePreprocesses.includes(preprocess as ImagePreprocess))
    return invalid([{ path: 'preprocess', message: `must be one of ${imagePreprocesses.join(', ')}` }]);
  if (preprocess === 'mnist' && !takesMnistDigits(model.inputShape))
    return invalid([{ path: 'preprocess', message: 'mnist is for models of 28x28 one-channel images' }]);
  return preprocess as ImagePreprocess;
}

/** The request's images checked, then decoded to model input on the decoder threads. */
async function packImages(
  model: PredictorModel,
  request: PredictRequest,
  options: Required<PredictorOptions<never>>,
  decoder: ImageDecoder,
): Promise<Packed> {
  const [height, width, channels = 1] = model.inputShape;
  if (model.inputShape.length > 3 || height === undefined || width === undefined || channels !== 1)
    return refused('images', 'this model does not take images');
  const preprocess = parsePreprocess(model, request.preprocess);
  if (typeof preprocess !== 'string') return { ok: false, error: preprocess };
  const checked = checkImages(request.images, options.maxInputs, options.imageLimits);
  if (!checked.ok) return checked;
  return decoder.decode(checked.images, checked.decodedBytes, { preprocess, height, width });
}

/** The request's raw values, validated, or its images decoded; or what is wrong with it. */
function packRequest(
  model: PredictorModel,
  request: PredictRequest,
  options: Required<PredictorOptions<never>>,
  decoder: ImageDecoder,
): Packed | Promise<Packed> {
  if ((request.inputs === undefined) === (request.images === undefined))
    return refused('(body)', 'give exactly one of inputs or images');
  if (request.inputs === undefined) return packImages(model, request, options, decoder);
  if (request.preprocess !== undefined) return refused('preprocess', 'applies to images only');
  return packInputs(request.inputs, featuresOf(model), options.inputRange, options.maxInputs);
}

// Requests of at least this many rows per thread are split across the threads.
const minRowsPerPart = 256;

/** `packed`'s rows in up to `threads` parts of whole rows, each in its own buffer (it is handed over). */
function splitRows(packed: Packed & { ok: true }, threads: number) {
  const features = packed.values.length / packed.rows;
  const parts = Math.max(1, Math.min(threads, Math.floor(packed.rows / minRowsPerPart)));
  if (parts === 1) return [{ inputs: packed.values, rows: packed.rows, features }];
  const rowsPerPart = Math.ceil(packed.rows / parts);
  return Array.from({ length: parts }, (_, part) => {
    const first = part * rowsPerPart;
    const rows = Math.min(rowsPerPart, packed.rows - first);
    return { inputs: packed.values.slice(first * features, (first + rows) * features), rows, features };
  });
}

function joinResults(results: InferenceResult[]): InferenceResult {
  if (results.length === 1) return results[0] as InferenceResult;
  const join = <T extends Int32Array | Float32Array>(parts: T[], make: (length: number) => T): T => {
    const joined = make(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      joined.set(part, offset);
      offset += part.length;
    }
    return joined;
  };
  return {
    labels: join(
      results.map((result) => result.labels),
      (length) => new Int32Array(length),
    ),
    probabilities: join(
      results.map((result) => result.probabilities),
      (length) => new Float32Array(length),
    ),
    classCount: results[0]?.classCount ?? 0,
    built: results.some((result) => result.built),
  };
}

function toPredictions(result: InferenceResult, rows: number, model: PredictorModel): Prediction[] {
  const topK = result.labels.length / rows;
  return Array.from({ length: rows }, (_, row) => {
    const probabilities = Array.from({ length: topK }, (_, rank) => ({
      label: result.labels[row * topK + rank] as number,
      probability: result.probabilities[row * topK + rank] as number,
    }));
    const label = probabilities[0]?.label ?? 0;
    const className = model.classNames?.[label];
    return { label, ...(className === undefined ? {} : { className }), probabilities };
  });
}

function createPool(threadFile: string, threads: number) {
  return new Piscina<InferenceTask, InferenceResult>({
    filename: threadFile,
    minThreads: threads,
    maxThreads: threads,
    // Threads hold the loaded models: they must not be retired for being idle.
    idleTimeout: Number.POSITIVE_INFINITY,
  });
}

/** `options` with a default for everything left out. */
function withDefaults<M extends PredictorModel>(options: PredictorOptions<M>): Required<PredictorOptions<M>> {
  return {
    threads: Math.max(1, Math.min(2, os.availableParallelism())),
    maxInputs: 1000,
    inputRange: { min: 0, max: 255 },
    imageLimits: defaultImageLimits,
    decodeThreads: 1,
    threadFile: defaultThreadFile('inference-thread'),
    decodeThreadFile: defaultThreadFile('decode-thread'),
    ...options,
  };
}

/**
 * Predictions in a pool of inference threads. Model files are loaded once per key (concurrent
 * requests share the load) and kept in a byte-bounded LRU; each thread keeps the models it built in
 * another. Input problems come back as a `PredictError` value; infrastructure failures reject.
 */
export function createPredictor<M extends PredictorModel = PredictorModel>(options: PredictorOptions<M>) {
  const settings = withDefaults(options);
  const pool = createPool(settings.threadFile, settings.threads);
  const decoder = createImageDecoder(settings.decodeThreadFile, settings.decodeThreads);
  const files = new ByteLru<ModelFiles>(settings.cacheBytes);
  const loading = new Map<string, Promise<ModelFiles>>();
  const counters = { loads: 0, threadBuilds: 0 };

  function filesFor(model: M): Promise<ModelFiles> {
    const key = model.key;
    const cached = files.get(key);
    if (cached) return Promise.resolve(cached);
    let pending = loading.get(key);
    if (!pending) {
      counters.loads++;
      pending = settings.loadArtifacts(model).then((loaded) => {
        const sharedFiles = { modelJson: shared(loaded.modelJson), weights: shared(loaded.weights) };
        files.set(key, sharedFiles, sharedFiles.modelJson.byteLength + sharedFiles.weights.byteLength);
        return sharedFiles;
      });
      loading.set(key, pending);
      void pending.finally(() => loading.delete(key)).catch(() => undefined);
    }
    return pending;
  }

  return {
    /** Validates `request` against `model` and answers the topK classes of each input, in order. */
    async predict(model: M, request: PredictRequest): Promise<PredictOutcome> {
      const topK = parseTopK(request.topK, model.classCount);
      if (typeof topK !== 'number') return { ok: false, error: topK };
      const packed = await packRequest(model, request, settings, decoder);
      if (!packed.ok) return packed;
      const task = {
        key: model.key,
        files: await filesFor(model),
        preprocessing: model.preprocessing,
        topK,
        cacheBytes: settings.cacheBytes,
      };
      const results = await Promise.all(
        splitRows(packed, settings.threads).map((part) =>
          pool.run({ ...task, ...part }, { transferList: [part.inputs.buffer as ArrayBuffer] }),
        ),
      );
      counters.threadBuilds += results.filter((result) => result.built).length;
      const result = joinResults(results);
      return { ok: true, predictions: toPredictions(result, packed.rows, model) };
    },

    /** Loads from the store so far, models built in threads so far, and what the files cache holds. */
    stats() {
      return { ...counters, cachedFiles: files.size, cachedFileBytes: files.bytes, threads: settings.threads };
    },

    close: async () => {
      await Promise.all([pool.destroy(), decoder.close()]);
    },
  };
}

export type Predictor = ReturnType<typeof createPredictor>;
