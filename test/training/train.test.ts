import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '../../src/spec/job-spec.js';
import { selectBackend } from '../../src/training/backend.js';
import { loadDataset, type Dataset } from '../../src/training/datasets/index.js';
import { train, TrainingError, type EpochMetrics, type StepLoss } from '../../src/training/train.js';
import { smallSpec } from '../helpers/specs.js';

function spec(overrides: Partial<JobSpecInput> = {}): JobSpec {
  const parsed = parseJobSpec(smallSpec(overrides), { maxParameters: 20_000_000 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

function record(jobSpec: JobSpec, dataset: Dataset) {
  const steps: StepLoss[] = [];
  const epochs: EpochMetrics[] = [];
  const result = train(jobSpec, dataset, { onSteps: (batch) => steps.push(...batch), onEpoch: (metrics) => epochs.push(metrics) });
  return { result, steps, epochs };
}

describe('train', () => {
  let dataset: Dataset;
  beforeAll(async () => {
    await selectBackend('auto');
    dataset = await loadDataset('mnist');
  });

  it('loads MNIST normalised with mean 0.1307 and std 0.3081', () => {
    expect(dataset.train.count).toBe(60_000);
    expect(dataset.test.count).toBe(10_000);
    expect(dataset.train.inputs.length).toBe(60_000 * 784);
    let sum = 0;
    for (let index = 0; index < 784 * 1000; index++) sum += dataset.train.inputs[index] as number;
    // The mean of normalised pixels is near 0 when the statistics are applied.
    expect(Math.abs(sum / (784 * 1000))).toBeLessThan(0.05);
    expect(dataset.train.inputs[0]).toBeCloseTo(-0.1307 / 0.3081, 5);
    expect(new Set(dataset.train.labels.subarray(0, 1000))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  });

  it('records every step once, in order, and metrics per epoch well above chance', () => {
    const { result, steps, epochs } = record(spec({ trainSamples: 2000, testSamples: 500, epochs: 2, batchSize: 64 }), dataset);
    const perEpoch = Math.ceil(2000 / 64);
    expect(result.outcome).toBe('completed');
    expect(steps.map((step) => step.step)).toEqual(Array.from({ length: perEpoch * 2 }, (_, index) => index + 1));
    expect(steps.filter((step) => step.epoch === 1)).toHaveLength(perEpoch);
    expect(epochs.map((metrics) => metrics.epoch)).toEqual([1, 2]);
    const last = epochs[1] as EpochMetrics;
    expect(last.testAccuracy).toBeGreaterThan(0.5);
    expect(last.testLoss).toBeLessThan(1.5);
    expect(last.samplesPerSecond).toBeGreaterThan(0);
    const meanOfEpoch2 = steps.filter((step) => step.epoch === 2).reduce((sum, step) => sum + step.loss, 0) / perEpoch;
    expect(last.trainLoss).toBeCloseTo(meanOfEpoch2, 6);
    expect((steps.at(-1) as StepLoss).loss).toBeLessThan((steps[0] as StepLoss).loss);
  });

  it('repeats exactly with the same seed and differs with another', () => {
    const jobSpec = spec({ trainSamples: 512, testSamples: 100, epochs: 2, batchSize: 32, seed: 123 });
    const first = record(jobSpec, dataset).steps;
    const second = record(jobSpec, dataset).steps;
    const other = record({ ...jobSpec, seed: 124 }, dataset).steps;
    expect(second).toEqual(first);
    expect(other.map((step) => step.loss)).not.toEqual(first.map((step) => step.loss));
  });

  it('leaves the tensor count at its baseline, including with dropout and every optimizer', () => {
    const baseline = tf.memory().numTensors;
    for (const optimizer of ['sgd', 'momentum', 'adam', 'rmsprop'] as const) {
      record(
        spec({
          optimizer,
          trainSamples: 256,
          testSamples: 100,
          epochs: 1,
          learningRate: 0.001,
          model: {
            layers: [
              { type: 'dense', units: 32, activation: 'tanh' },
              { type: 'dropout', rate: 0.3 },
              { type: 'dense', units: 16, activation: 'sigmoid' },
              { type: 'dense', units: 10 },
            ],
          },
        }),
        dataset,
      );
      expect(tf.memory().numTensors).toBe(baseline);
    }
  });

  it('stops between batches when asked, and still frees its tensors', () => {
    const baseline = tf.memory().numTensors;
    let seen = 0;
    const result = train(spec({ trainSamples: 2000, epochs: 3 }), dataset, {
      onSteps: (batch) => {
        seen += batch.length;
      },
      shouldStop: () => seen >= 5,
    }, { lossReadInterval: 1 });
    expect(result.outcome).toBe('stopped');
    expect(result.steps).toBe(5);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('fails with a clear message when the loss diverges', () => {
    const baseline = tf.memory().numTensors;
    const steps: StepLoss[] = [];
    let caught: unknown;
    try {
      train(
        spec({ learningRate: 10, optimizer: 'sgd', trainSamples: 1000, epochs: 3, model: { layers: [{ type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 10 }] } }),
        dataset,
        { onSteps: (batch) => steps.push(...batch) },
        { lossReadInterval: 1 },
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TrainingError);
    expect((caught as Error).message).toMatch(/loss became (NaN|Infinity|-Infinity) at step \d+ .*lower learningRate/);
    expect(steps.every((step) => Number.isFinite(step.loss))).toBe(true);
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
