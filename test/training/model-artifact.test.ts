import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerSpec } from '../../src/domain/job-spec.js';
import { buildModel } from '../../src/training/model.js';
import {
  loadLayersModelFromFiles,
  serializeLayersModel,
  toLayersModel,
  type LayersModelFiles,
} from '../../src/training/model-artifact.js';

const layers: LayerSpec[] = [
  { type: 'dense', units: 32, activation: 'relu' },
  { type: 'dropout', rate: 0.2 },
  { type: 'dense', units: 16, activation: 'tanh' },
  { type: 'dense', units: 10, activation: 'linear' },
];
const features = 784;

/** Serves model.json and weights.bin as a static web server would. */
async function serve(files: LayersModelFiles): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const body =
      request.url === '/model/model.json'
        ? files.modelJson
        : request.url === '/model/weights.bin'
          ? files.weights
          : null;
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-length': body.length }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/model/model.json`, server };
}

function expectSamePredictions(actual: number[][], wanted: number[][]): void {
  expect(actual).toHaveLength(wanted.length);
  for (const [row, probabilities] of actual.entries()) {
    for (const [column, probability] of probabilities.entries())
      expect(probability).toBeCloseTo(wanted[row]?.[column] ?? NaN, 6);
  }
}

describe('model artifact', () => {
  const model = buildModel(layers, features, 11);
  const inputs = tf.randomUniform<tf.Rank.R2>([5, features], -1, 2, 'float32', 3);
  let expected: number[][];
  let files: LayersModelFiles;
  beforeAll(async () => {
    expected = tf.tidy(() => tf.softmax(model.logits(inputs))).arraySync();
    const layersModel = toLayersModel(model, layers);
    files = await serializeLayersModel(layersModel, { trainer: { classCount: 10 } });
    layersModel.dispose();
  });
  afterAll(() => {
    model.dispose();
    inputs.dispose();
  });

  it('writes model.json in layers format with a relative weights manifest and weights of every dense layer', () => {
    const json = JSON.parse(files.modelJson.toString('utf8')) as tf.io.ModelJSON;
    expect(json.format).toBe('layers-model');
    expect(json.generatedBy).toMatch(/^TensorFlow\.js tfjs-layers v/);
    expect(json.convertedBy).toBeNull();
    expect(json.userDefinedMetadata).toEqual({ trainer: { classCount: 10 } });
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0]?.paths).toEqual(['weights.bin']);
    const parameters = 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10;
    expect(files.weights.length).toBe(parameters * 4);
    expect(json.weightsManifest[0]?.weights.map((weight) => weight.shape)).toEqual([
      [784, 32],
      [32],
      [32, 16],
      [16],
      [16, 10],
      [10],
    ]);
  });

  it('loads with plain tfjs over HTTP and predicts what the training model predicts', async () => {
    const { url, server } = await serve(files);
    try {
      const loaded = await tf.loadLayersModel(url);
      const predicted = tf.tidy(() => (loaded.predict(inputs) as tf.Tensor).arraySync() as number[][]);
      loaded.dispose();
      expectSamePredictions(predicted, expected);
    } finally {
      server.close();
    }
  });

  it('loads back from its bytes, even as views into a larger buffer, with the same predictions', async () => {
    const padded = Buffer.concat([Buffer.alloc(3), files.weights]);
    const loaded = await loadLayersModelFromFiles({ modelJson: files.modelJson, weights: padded.subarray(3) });
    const predicted = tf.tidy(() => (loaded.predict(inputs) as tf.Tensor).arraySync() as number[][]);
    loaded.dispose();
    expectSamePredictions(predicted, expected);
  });
});

describe('model artifact of a conv model', () => {
  const convLayers: LayerSpec[] = [
    { type: 'conv2d', filters: 3, kernelSize: [3, 2], strides: 1, padding: 'same', activation: 'tanh' },
    { type: 'batchNormalization', momentum: 0.5, epsilon: 1e-3 },
    { type: 'maxPool2d', poolSize: 2, padding: 'valid' },
    { type: 'avgPool2d', poolSize: 2, strides: 1, padding: 'valid' },
    { type: 'flatten' },
    { type: 'dropout', rate: 0.3 },
    { type: 'dense', units: 4, activation: 'linear' },
  ];
  const model = buildModel(convLayers, [8, 8, 1], 5);
  const inputs = tf.randomUniform<tf.Rank.R2>([6, 64], -1, 2, 'float32', 9);
  afterAll(() => {
    model.dispose();
    inputs.dispose();
  });

  it('takes flat input, reshapes it to the image and predicts what the training model predicts', async () => {
    // A training pass moves batch normalisation's statistics away from their starting values.
    tf.tidy(() => model.logits(inputs, { dropoutSeed: 1 }));
    const expected = tf.tidy(() => tf.softmax(model.logits(inputs))).arraySync();
    const layersModel = toLayersModel(model, convLayers);
    const files = await serializeLayersModel(layersModel);
    layersModel.dispose();
    const loaded = await loadLayersModelFromFiles(files);
    expect(loaded.inputs[0]?.shape).toEqual([null, 64]);
    const predicted = tf.tidy(() => (loaded.predict(inputs) as tf.Tensor).arraySync() as number[][]);
    loaded.dispose();
    expectSamePredictions(predicted, expected);
  });
});
