import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerSpec, OptimizerName } from '../../src/domain/job-spec.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import { DenseEngine } from '../../src/training/dense-engine.js';
import { buildModel } from '../../src/training/model.js';
import { createOptimizer, disposeOptimizer, trainingStep } from '../../src/training/optimizer.js';
import { installWasmFastPath } from '../../src/training/wasm-fast-path.js';

// ReLU and linear layers, widths that are not multiples of four among them.
const layers: LayerSpec[] = [
  { type: 'dense', units: 130, activation: 'relu' },
  { type: 'dense', units: 64, activation: 'relu' },
  { type: 'dense', units: 33, activation: 'linear' },
  { type: 'dense', units: 10, activation: 'linear' },
];
const learningRates: Record<OptimizerName, number> = { sgd: 0.05, momentum: 0.05, adam: 0.001, rmsprop: 0.001 };
const optimizers = Object.keys(learningRates) as OptimizerName[];

interface Run {
  losses: number[];
  weights: Float32Array[];
}

/** A batch of `size` examples from `first` on: inputs and one-hot targets. */
function batchOf(dataset: Dataset, first: number, size: number) {
  const inputs = dataset.train.inputs.slice(first * 784, (first + size) * 784);
  const targets = new Float32Array(size * 10);
  for (let row = 0; row < size; row++) targets[row * 10 + (dataset.train.labels[first + row] as number)] = 1;
  return { inputs, targets };
}

/** Three steps (batches of 64, 64 and 37) through the engine when `engine`, else through tfjs's tape. */
function run(dataset: Dataset, name: OptimizerName, engine: boolean): Run {
  const model = buildModel(layers, 784, 7);
  const optimizer = createOptimizer(name, learningRates[name]);
  const stepper = engine ? DenseEngine.for(layers, model, optimizer, 64) : undefined;
  if (engine) expect(stepper, 'an engine for a dense network on the fast path').toBeDefined();
  try {
    const losses = [0, 64, 128].map((first, step) => {
      const { inputs, targets } = batchOf(dataset, first, step === 2 ? 37 : 64);
      if (stepper) return stepper.step(inputs, targets);
      const loss = trainingStep(model, optimizer, inputs, targets, step);
      const value = loss.dataSync()[0] as number;
      loss.dispose();
      return value;
    });
    return { losses, weights: model.variables.map((variable) => Float32Array.from(variable.dataSync())) };
  } finally {
    stepper?.dispose();
    disposeOptimizer(optimizer);
    model.dispose();
  }
}

/** Largest |a - b| / (|b| + 1e-3): 1e-4 means a relative 1e-4 but for values that pass through zero. */
function worstRelative(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  b.forEach((value, index) => {
    worst = Math.max(worst, Math.abs((a[index] as number) - value) / (Math.abs(value) + 1e-3));
  });
  return worst;
}

describe('the dense engine on the WebAssembly fast path', () => {
  let dataset: Dataset;
  const reference = new Map<OptimizerName, Run>();

  beforeAll(async () => {
    dataset = await loadDataset('mnist');
    await tf.setBackend('cpu');
    for (const name of optimizers) reference.set(name, run(dataset, name, false));
    await tf.setBackend('wasm');
    expect(installWasmFastPath(tf, version_wasm)).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const name of optimizers) {
    it(`leaves the weights the plain CPU backend does after three ${name} steps, within 1e-4 relative`, () => {
      const expected = reference.get(name) as Run;
      const actual = run(dataset, name, true);
      actual.losses.forEach((loss, step) =>
        expect(loss, `loss of step ${step}`).toBeCloseTo(expected.losses[step] ?? 0, 4),
      );
      actual.weights.forEach((weights, index) => {
        expect(worstRelative(weights, expected.weights[index] as Float32Array), `variable ${index}`).toBeLessThan(1e-4);
      });
    });
  }

  it('repeats a run exactly', () => {
    expect(run(dataset, 'adam', true)).toEqual(run(dataset, 'adam', true));
  });

  it('leaves a model the test pass reads as trained: products cached for the old weights are not reused', () => {
    const model = buildModel(layers, 784, 7);
    const optimizer = createOptimizer('sgd', 0.05);
    const engine = DenseEngine.for(layers, model, optimizer, 64) as DenseEngine;
    const { inputs, targets } = batchOf(dataset, 0, 64);
    const logits = () =>
      tf.tidy(() =>
        model
          .logits(tf.tensor2d(inputs, [64, 784]))
          .dataSync()
          .slice(),
      );
    try {
      // Three uses make the fast path cache the packed weights (as a test pass does).
      for (let use = 0; use < 3; use++) logits();
      const before = logits();
      engine.step(inputs, targets);
      const after = logits();
      const fresh = tf.tidy(() => {
        const copies = model.variables.map((variable) => tf.tensor(variable.dataSync(), variable.shape));
        let x: tf.Tensor = tf.tensor2d(inputs, [64, 784]);
        copies.forEach((copy, index) => {
          if (index % 2 === 1) return;
          x = tf.add(tf.matMul(x, copy), copies[index + 1] as tf.Tensor);
          if ((layers[index / 2] as { activation: string }).activation === 'relu') x = tf.relu(x);
        });
        return x.dataSync().slice();
      });
      expect(after).not.toEqual(before);
      expect(worstRelative(after as Float32Array, fresh as Float32Array)).toBeLessThan(1e-4);
    } finally {
      engine.dispose();
      disposeOptimizer(optimizer);
      model.dispose();
    }
  });

  it('is not used for layers it does not do, nor with tfjs optimizers', () => {
    const withDropout: LayerSpec[] = [{ type: 'dropout', rate: 0.5 }, ...layers];
    const tanh: LayerSpec[] = [{ type: 'dense', units: 10, activation: 'tanh' }];
    const model = buildModel(layers, 784, 7);
    const fused = createOptimizer('sgd', 0.05);
    const stock = tf.train.sgd(0.05);
    try {
      expect(DenseEngine.for(withDropout, model, fused, 64)).toBeUndefined();
      expect(DenseEngine.for(tanh, model, fused, 64)).toBeUndefined();
      expect(DenseEngine.for(layers, model, stock, 64)).toBeUndefined();
    } finally {
      disposeOptimizer(fused);
      stock.dispose();
      model.dispose();
    }
  });
});
