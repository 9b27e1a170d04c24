// Entry point of an inference thread (run by piscina): the only place the predictor touches tensors,
// so the API's event loop never runs a model.
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../training/backend.js';
import { loadLayersModelFromFiles } from '../training/model-artifact.js';
import { ByteLru } from './byte-lru.js';
import type { InferenceResult, InferenceTask, Preprocessing } from './protocol.js';

// Rows per predict call: on the wasm backend a 784-512-512-10 network runs batches of ~128 rows
// about twice as fast per row as batches of 1,000.
const chunkRows = 128;

await selectBackend('auto');

let models: ByteLru<tf.LayersModel> | undefined;

function cacheOf(cacheBytes: number): ByteLru<tf.LayersModel> {
  models ??= new ByteLru<tf.LayersModel>(cacheBytes, (_key, model) => model.dispose());
  return models;
}

async function modelFor(task: InferenceTask): Promise<{ model: tf.LayersModel; built: boolean }> {
  const cache = cacheOf(task.cacheBytes);
  const cached = cache.get(task.key);
  if (cached) return { model: cached, built: false };
  const model = await loadLayersModelFromFiles(task.files);
  const inputShape = model.inputs[0]?.shape;
  if (inputShape?.length !== 2 || inputShape[1] !== task.features) {
    model.dispose();
    throw new Error(`the model takes input of shape ${JSON.stringify(inputShape)}, not [batch, ${task.features}]`);
  }
  // One prediction now, so the first request does not pay for kernel setup and memory growth.
  tf.tidy(() => (model.predict(tf.zeros([1, task.features])) as tf.Tensor).dataSync());
  cache.set(task.key, model, task.files.weights.byteLength);
  return { model, built: true };
}

function preprocess(values: Float32Array, { scale, mean, std }: Preprocessing): void {
  for (let index = 0; index < values.length; index++) values[index] = ((values[index] as number) * scale - mean) / std;
}

// Writes the topK labels and probabilities of each row of `probabilities` at row offset `firstRow`.
function writeTopK(
  probabilities: Float32Array,
  classCount: number,
  firstRow: number,
  result: InferenceResult,
  topK: number,
) {
  const order = Array.from({ length: classCount }, (_, label) => label);
  for (let row = 0; row * classCount < probabilities.length; row++) {
    const offset = row * classCount;
    order.sort((a, b) => (probabilities[offset + b] as number) - (probabilities[offset + a] as number) || a - b);
    for (let rank = 0; rank < topK; rank++) {
      const label = order[rank] as number;
      result.labels[(firstRow + row) * topK + rank] = label;
      result.probabilities[(firstRow + row) * topK + rank] = probabilities[offset + label] as number;
    }
  }
}

/** Predicts the topK classes of each row of `task.inputs` with the model of `task.key`. */
export default async function infer(task: InferenceTask): Promise<InferenceResult> {
  const { model, built } = await modelFor(task);
  const classCount = (model.outputs[0]?.shape[1] as number | undefined) ?? 0;
  const topK = Math.min(task.topK, classCount);
  const result: InferenceResult = {
    labels: new Int32Array(task.rows * topK),
    probabilities: new Float32Array(task.rows * topK),
    classCount,
    built,
  };
  preprocess(task.inputs, task.preprocessing);
  for (let firstRow = 0; firstRow < task.rows; firstRow += chunkRows) {
    const rows = Math.min(chunkRows, task.rows - firstRow);
    const chunk = task.inputs.subarray(firstRow * task.features, (firstRow + rows) * task.features);
    const probabilities = tf.tidy(() =>
      (model.predict(tf.tensor2d(chunk, [rows, task.features])) as tf.Tensor).dataSync(),
    ) as Float32Array;
    writeTopK(probabilities, classCount, firstRow, result, topK);
  }
  return result;
}
