import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LayerSpec } from '../../src/domain/job-spec.js';
import { buildModel } from '../../src/training/model.js';

const lenet: LayerSpec[] = [
  { type: 'conv2d', filters: 32, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
  { type: 'maxPool2d', poolSize: 2, padding: 'valid' },
  { type: 'conv2d', filters: 64, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
  { type: 'maxPool2d', poolSize: 2, padding: 'valid' },
  { type: 'flatten' },
  { type: 'dense', units: 128, activation: 'relu' },
  { type: 'dense', units: 10, activation: 'linear' },
];

const maxAbs = (values: ArrayLike<number>) =>
  Array.from(values).reduce((max, value) => Math.max(max, Math.abs(value)), 0);

describe('buildModel with image layers (no data needed)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('reshapes flat MNIST rows to 28x28x1 and gives one logit per class', () => {
    const model = buildModel(lenet, [28, 28, 1], 1);
    try {
      expect(model.inputShape).toEqual([28, 28, 1]);
      expect(model.inputFeatures).toBe(784);
      expect(model.variables.map((variable) => variable.shape)).toEqual([
        [3, 3, 1, 32],
        [32],
        [3, 3, 32, 64],
        [64],
        [1600, 128],
        [128],
        [128, 10],
        [10],
      ]);
      const logits = tf.tidy(() => model.logits(tf.randomNormal([3, 784])).arraySync());
      expect(logits).toHaveLength(3);
      expect(logits[0]).toHaveLength(10);
    } finally {
      model.dispose();
    }
  });

  it('keeps a dense-only model flat, as before', () => {
    const model = buildModel([{ type: 'dense', units: 10, activation: 'linear' }], [28, 28, 1], 1);
    expect(model.inputShape).toEqual([784]);
    expect(model.variables[0]?.shape).toEqual([784, 10]);
    model.dispose();
  });

  it('initialises conv weights and biases uniform in +-1/sqrt(fan_in), as PyTorch does', () => {
    const model = buildModel(lenet, [28, 28, 1], 5);
    try {
      const [filter1, bias1, filter2, bias2] = model.variables.map((variable) => variable.dataSync());
      for (const [values, fanIn] of [
        [filter1, 9],
        [bias1, 9],
        [filter2, 288],
        [bias2, 288],
      ] as const) {
        const bound = 1 / Math.sqrt(fanIn);
        expect(maxAbs(values ?? [])).toBeLessThanOrEqual(bound);
        // Spread over the whole range, not a narrower one.
        expect(maxAbs(values ?? [])).toBeGreaterThan(bound * 0.8);
      }
    } finally {
      model.dispose();
    }
  });

  it('moves batch normalisation statistics only in training, and checkpoints them with the weights', () => {
    const layers: LayerSpec[] = [
      { type: 'conv2d', filters: 2, kernelSize: 3, strides: 1, padding: 'same', activation: 'linear' },
      { type: 'batchNormalization', momentum: 0.5, epsilon: 1e-5 },
      { type: 'flatten' },
      { type: 'dense', units: 10, activation: 'linear' },
    ];
    const model = buildModel(layers, [28, 28, 1], 3);
    try {
      expect(model.variables).toHaveLength(6);
      expect(model.state.map((variable) => variable.name)).toEqual([
        ...model.variables.map((variable) => variable.name),
        'batchNormalization1/moving_mean',
        'batchNormalization1/moving_variance',
      ]);
      const movingMean = model.state[6] as tf.Variable;
      const inputs = tf.add<tf.Tensor2D>(tf.randomNormal([4, 784], 0, 1, 'float32', 9), 3);
      tf.tidy(() => model.logits(inputs));
      expect(Array.from(movingMean.dataSync())).toEqual([0, 0]);
      tf.tidy(() => model.logits(inputs, { dropoutSeed: 1 }));
      expect(maxAbs(movingMean.dataSync())).toBeGreaterThan(0);
      inputs.dispose();
    } finally {
      model.dispose();
    }
  });
});
