// What both passes of `npm run bench:predict` share: the exercise network's files and the report's helpers.
import { exerciseNetworks as networks } from '../domain/exercise.js';
import { buildModel } from '../training/model.js';
import { serializeLayersModel, toLayersModel } from '../training/model-artifact.js';

const features = 784;

export function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? NaN;
}

export function verdict(label: string, met: boolean, detail: string): void {
  console.log(`  ${met ? 'met   ' : 'MISSED'}  ${label}: ${detail}`);
}

/** model.json of the network (the same for every model) and a weights size; weights come per key. */
export async function template(): Promise<{ modelJson: Buffer; weightBytes: number }> {
  const layers = networks.mlp.layers;
  const model = buildModel(layers, features, 1);
  const layersModel = toLayersModel(model, layers);
  const files = await serializeLayersModel(layersModel);
  layersModel.dispose();
  model.dispose();
  return { modelJson: files.modelJson, weightBytes: files.weights.length };
}

// Deterministic small random weights for model number `seed`, as a store would return them.
export function randomWeights(bytes: number, seed: number): Buffer {
  const values = new Float32Array(bytes / 4);
  let state = seed * 7919 + 1;
  for (let index = 0; index < values.length; index++) {
    state = (state * 1664525 + 1013904223) >>> 0;
    values[index] = (state / 2 ** 32 - 0.5) * 0.1;
  }
  return Buffer.from(values.buffer);
}
