import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerSpec, OptimizerName } from '../../src/domain/job-spec.js';
import { captureState, restoreState } from '../../src/training/checkpoint.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import { adamPowers, FusedOptimizer, stepwisePower } from '../../src/training/fused-optimizer.js';
import { buildModel } from '../../src/training/model.js';
import {
  createOptimizer,
  disposeOptimizer,
  prepareOptimizer,
  trainingStep,
  type TrainingOptimizer,
} from '../../src/training/optimizer.js';
import { installWasmFastPath } from '../../src/training/wasm-fast-path.js';

const layers: LayerSpec[] = [
  { type: 'dense', units: 64, activation: 'relu' },
  { type: 'dense', units: 10, activation: 'linear' },
];
const learningRates: Record<OptimizerName, number> = { sgd: 0.05, momentum: 0.05, adam: 0.001, rmsprop: 0.001 };
const optimizers = Object.keys(learningRates) as OptimizerName[];
const tfjsOptimizers: Record<OptimizerName, (learningRate: number) => tf.Optimizer> = {
  sgd: (rate) => tf.train.sgd(rate),
  momentum: (rate) => tf.train.momentum(rate, 0.9),
  adam: (rate) => tf.train.adam(rate),
  rmsprop: (rate) => tf.train.rmsprop(rate),
};

/** `steps` steps on the first batches of 32, from the same initial weights; the weights after. */
function train(dataset: Dataset, optimizer: TrainingOptimizer, steps: number) {
  const model = buildModel(layers, 784, 5);
  try {
    for (let step = 0; step < steps; step++) {
      const first = step * 32;
      const inputs = dataset.train.inputs.subarray(first * 784, (first + 32) * 784);
      const targets = new Float32Array(32 * 10);
      for (let row = 0; row < 32; row++) targets[row * 10 + (dataset.train.labels[first + row] as number)] = 1;
      trainingStep(model, optimizer, inputs, targets, step).dispose();
    }
    return model.variables.map((variable) => Float32Array.from(variable.dataSync()));
  } finally {
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

describe('the fused optimizer on the WebAssembly fast path', () => {
  let dataset: Dataset;

  beforeAll(async () => {
    dataset = await loadDataset('mnist');
    await tf.setBackend('wasm');
    expect(installWasmFastPath(tf, version_wasm)).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  it('is the optimizer training uses there, and tfjs keeps its own on other backends', async () => {
    const fused = createOptimizer('adam', 0.001);
    expect(fused).toBeInstanceOf(FusedOptimizer);
    disposeOptimizer(fused);
    await tf.setBackend('cpu');
    const plain = createOptimizer('adam', 0.001);
    expect(plain).toBeInstanceOf(tf.AdamOptimizer);
    disposeOptimizer(plain);
    await tf.setBackend('wasm');
  });

  for (const name of optimizers) {
    it(`takes five ${name} steps as tfjs's ${name} does, within 1e-4 relative`, () => {
      const fused = createOptimizer(name, learningRates[name]);
      const stock = tfjsOptimizers[name](learningRates[name]);
      try {
        const expected = train(dataset, stock, 5);
        const actual = train(dataset, fused, 5);
        actual.forEach((weights, index) => {
          expect(worstRelative(weights, expected[index] as Float32Array), `variable ${index}`).toBeLessThan(1e-4);
        });
      } finally {
        disposeOptimizer(fused);
        disposeOptimizer(stock);
      }
    });

    it(`checkpoints ${name}'s state under tfjs's names, and resumes from it exactly`, async () => {
      const model = buildModel(layers, 784, 5);
      const [fused, stock] = [createOptimizer(name, learningRates[name]), tfjsOptimizers[name](learningRates[name])];
      const resumed = createOptimizer(name, learningRates[name]);
      try {
        const inputs = dataset.train.inputs.subarray(0, 32 * 784);
        const targets = new Float32Array(32 * 10).map((_, index) => (index % 11 === 0 ? 1 : 0));
        for (const optimizer of [fused, stock]) trainingStep(model, optimizer, inputs, targets, 1).dispose();
        const [ours, theirs] = [await fused.getWeights(), await stock.getWeights()];
        expect(ours.map((slot) => slot.name)).toEqual(theirs.map((slot) => slot.name));
        expect(ours[0]?.tensor.dataSync()[0]).toBe(1);
        // Resuming from the checkpoint continues as the uninterrupted optimizer does, bit for bit.
        const checkpoint = await captureState(model, fused);
        await restoreState(model, resumed, checkpoint);
        const after = (optimizer: TrainingOptimizer) => {
          tf.tidy(() =>
            model.variables.forEach((variable, index) =>
              variable.assign(tf.tensor(checkpoint.weights[index]?.values ?? [], variable.shape)),
            ),
          );
          trainingStep(model, optimizer, inputs, targets, 2).dispose();
          return model.variables.map((variable) => Float32Array.from(variable.dataSync()));
        };
        expect(after(resumed)).toEqual(after(fused));
        for (const slot of [...ours, ...theirs]) if (!(slot.tensor instanceof tf.Variable)) slot.tensor.dispose();
      } finally {
        for (const optimizer of [fused, stock, resumed]) disposeOptimizer(optimizer);
        model.dispose();
      }
    });
  }

  it('makes its slots ahead of the first step when prepared, and trains the same to the bit', async () => {
    const steps = (prepared: boolean) => {
      const model = buildModel(layers, 784, 5);
      const optimizer = createOptimizer('adam', 0.001);
      try {
        if (prepared) prepareOptimizer(optimizer, model.variables);
        const inputs = dataset.train.inputs.subarray(0, 32 * 784);
        const targets = new Float32Array(32 * 10).map((_, index) => (index % 11 === 0 ? 1 : 0));
        for (let step = 1; step <= 3; step++) trainingStep(model, optimizer, inputs, targets, step).dispose();
        return model.variables.map((variable) => Float32Array.from(variable.dataSync()));
      } finally {
        disposeOptimizer(optimizer);
        model.dispose();
      }
    };
    expect(steps(true)).toEqual(steps(false));
    const model = buildModel(layers, 784, 5);
    const optimizer = createOptimizer('adam', 0.001);
    try {
      prepareOptimizer(optimizer, model.variables);
      const slots = await optimizer.getWeights();
      // The iteration count, then m and v for each of the four variables, zero, before any step.
      expect(slots).toHaveLength(1 + 2 * model.variables.length);
      expect(slots[1]?.name).toBe(`${model.variables[0]?.name ?? ''}/m`);
      expect(slots.slice(1).every((slot) => slot.tensor.dataSync().every((value) => value === 0))).toBe(true);
    } finally {
      disposeOptimizer(optimizer);
      model.dispose();
    }
  });

  it('leaks no tensors over many steps', () => {
    const optimizer = createOptimizer('adam', 0.001);
    try {
      train(dataset, optimizer, 1);
      const before = tf.memory().numTensors;
      train(dataset, optimizer, 5);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      disposeOptimizer(optimizer);
    }
  });
});

describe("Adam's bias-correction powers", () => {
  it('carried from step to step are the float32 powers tfjs reaches, also after a jump (a restore)', () => {
    let powers = adamPowers(0);
    for (let iterations = 0; iterations <= 3000; iterations++) {
      powers = adamPowers(iterations, powers);
      if (iterations % 250 === 0 || iterations < 5) {
        expect(powers.beta1).toBe(stepwisePower(Math.fround(0.9), iterations));
        expect(powers.beta2).toBe(stepwisePower(Math.fround(0.999), iterations));
        expect(powers.c2).toBe(Math.fround(1 / Math.fround(1 - stepwisePower(Math.fround(0.999), iterations))));
      }
    }
    // Backwards and forwards by more than one step: worked out afresh, not carried.
    for (const iterations of [17, 2999, 40, 41]) {
      powers = adamPowers(iterations, powers);
      expect(powers.iterations).toBe(iterations);
      expect(powers.beta1).toBe(stepwisePower(Math.fround(0.9), iterations));
      expect(powers.beta2).toBe(stepwisePower(Math.fround(0.999), iterations));
    }
  });
});
