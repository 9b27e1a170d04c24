import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '../../src/domain/job-spec.js';
import { selectBackend } from '../../src/training/backend.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import {
  train,
  TrainingError,
  type Checkpoint,
  type EpochMetrics,
  type StepLoss,
  type TrainingOptions,
} from '../../src/training/train.js';
import { smallSpec } from '../helpers/specs.js';

function spec(overrides: Partial<JobSpecInput> = {}): JobSpec {
  const parsed = parseJobSpec(smallSpec(overrides), { maxParameters: 20_000_000 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

async function record(jobSpec: JobSpec, dataset: Dataset, options: TrainingOptions = {}, resume?: Checkpoint) {
  const steps: StepLoss[] = [];
  const epochs: EpochMetrics[] = [];
  const checkpoints: Checkpoint[] = [];
  const result = await train(
    jobSpec,
    dataset,
    {
      onSteps: (batch) => steps.push(...batch),
      onEpoch: (metrics) => epochs.push(metrics),
      onCheckpoint: (checkpoint) => checkpoints.push(checkpoint),
    },
    options,
    resume,
  );
  return { result, steps, epochs, checkpoints };
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

  it('records every step once, in order, and metrics per epoch well above chance', async () => {
    const { result, steps, epochs } = await record(
      spec({ trainSamples: 2000, testSamples: 500, epochs: 2, batchSize: 64 }),
      dataset,
    );
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

  it('repeats exactly with the same seed and differs with another', async () => {
    const jobSpec = spec({ trainSamples: 512, testSamples: 100, epochs: 2, batchSize: 32, seed: 123 });
    const first = (await record(jobSpec, dataset)).steps;
    const second = (await record(jobSpec, dataset)).steps;
    const other = (await record({ ...jobSpec, seed: 124 }, dataset)).steps;
    expect(second).toEqual(first);
    expect(other.map((step) => step.loss)).not.toEqual(first.map((step) => step.loss));
  });

  it('leaves the tensor count at its baseline, including with dropout, checkpoints and every optimizer', async () => {
    const baseline = tf.memory().numTensors;
    for (const optimizer of ['sgd', 'momentum', 'adam', 'rmsprop'] as const) {
      await record(
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
        { checkpointEverySteps: 3 },
      );
      expect(tf.memory().numTensors).toBe(baseline);
    }
  });

  it('stops between batches when asked, and still frees its tensors', async () => {
    const baseline = tf.memory().numTensors;
    let seen = 0;
    const result = await train(
      spec({ trainSamples: 2000, epochs: 3 }),
      dataset,
      {
        onSteps: (batch) => {
          seen += batch.length;
        },
        shouldStop: () => seen >= 5 && 'stop',
      },
      { lossReadInterval: 1 },
    );
    expect(result.outcome).toBe('stopped');
    expect(result.steps).toBe(5);
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('fails with a clear message when the loss diverges', async () => {
    const baseline = tf.memory().numTensors;
    const steps: StepLoss[] = [];
    let caught: unknown;
    try {
      await train(
        spec({
          learningRate: 10,
          optimizer: 'sgd',
          trainSamples: 1000,
          epochs: 3,
          model: {
            layers: [
              { type: 'dense', units: 256, activation: 'relu' },
              { type: 'dense', units: 256, activation: 'relu' },
              { type: 'dense', units: 10 },
            ],
          },
        }),
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

  describe('checkpoints', () => {
    // Each optimizer keeps different state (none, velocities, two moments, a mean square); dropout draws per step.
    for (const optimizer of ['sgd', 'momentum', 'adam', 'rmsprop'] as const) {
      it(`resumes ${optimizer} from an epoch-end or a mid-epoch checkpoint exactly as if never stopped`, async () => {
        const jobSpec = spec({
          optimizer,
          learningRate: optimizer === 'sgd' || optimizer === 'momentum' ? 0.05 : 0.001,
          trainSamples: 640,
          testSamples: 100,
          epochs: 3,
          batchSize: 64,
          model: {
            layers: [
              { type: 'dense', units: 32, activation: 'relu' },
              { type: 'dropout', rate: 0.2 },
              { type: 'dense', units: 10 },
            ],
          },
        });
        const uninterrupted = await record(jobSpec, dataset, { checkpointEverySteps: 7 });
        const epochEnd = uninterrupted.checkpoints.find((checkpoint) => checkpoint.step === 10) as Checkpoint;
        const midEpoch = uninterrupted.checkpoints.find((checkpoint) => checkpoint.step === 14) as Checkpoint;
        expect(epochEnd).toMatchObject({ step: 10, epoch: 1 });
        expect(midEpoch).toMatchObject({ step: 14, epoch: 1 });

        for (const checkpoint of [epochEnd, midEpoch]) {
          const resumed = await record(jobSpec, dataset, {}, checkpoint);
          expect(resumed.steps).toEqual(uninterrupted.steps.slice(checkpoint.step));
          expect(resumed.epochs.map((metrics) => metrics.epoch)).toEqual([2, 3]);
          expect(
            resumed.epochs.map(({ testAccuracy, testLoss, trainLoss }) => ({ testAccuracy, testLoss, trainLoss })),
          ).toEqual(
            uninterrupted.epochs
              .slice(1)
              .map(({ testAccuracy, testLoss, trainLoss }) => ({ testAccuracy, testLoss, trainLoss })),
          );
        }
      });
    }

    // Batch normalisation's moving statistics are state the checkpoint must carry besides the weights.
    it('resumes a conv network with batch normalisation exactly as if never stopped', async () => {
      const jobSpec = spec({
        optimizer: 'adam',
        learningRate: 0.001,
        trainSamples: 512,
        testSamples: 100,
        epochs: 2,
        batchSize: 64,
        model: {
          layers: [
            { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
            { type: 'batchNormalization' },
            { type: 'maxPool2d', poolSize: 2 },
            { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
            { type: 'avgPool2d', poolSize: 2 },
            { type: 'flatten' },
            { type: 'dropout', rate: 0.2 },
            { type: 'dense', units: 10 },
          ],
        },
      });
      const uninterrupted = await record(jobSpec, dataset, { checkpointEverySteps: 5 });
      expect(uninterrupted.epochs).toHaveLength(2);
      const midEpoch = uninterrupted.checkpoints.find((checkpoint) => checkpoint.step === 5) as Checkpoint;
      expect(midEpoch.weights.map((weights) => weights.name).slice(-2)).toEqual([
        'batchNormalization1/moving_mean',
        'batchNormalization1/moving_variance',
      ]);
      for (const checkpoint of [midEpoch, uninterrupted.checkpoints.find((c) => c.step === 8) as Checkpoint]) {
        const resumed = await record(jobSpec, dataset, {}, checkpoint);
        expect(resumed.steps).toEqual(uninterrupted.steps.slice(checkpoint.step));
        expect(resumed.epochs.at(-1)).toMatchObject({
          testAccuracy: uninterrupted.epochs.at(-1)?.testAccuracy,
          testLoss: uninterrupted.epochs.at(-1)?.testLoss,
        });
      }
    });

    it('checkpoints the exact point where a graceful stop was asked, and resumes from it', async () => {
      const jobSpec = spec({ trainSamples: 640, testSamples: 100, epochs: 2, batchSize: 64 });
      const uninterrupted = await record(jobSpec, dataset);
      let seen = 0;
      const checkpoints: Checkpoint[] = [];
      const stopped = await train(
        jobSpec,
        dataset,
        {
          onSteps: (batch) => {
            seen += batch.length;
          },
          onCheckpoint: (checkpoint) => checkpoints.push(checkpoint),
          shouldStop: () => seen >= 13 && 'checkpoint',
        },
        { lossReadInterval: 1 },
      );
      expect(stopped).toMatchObject({ outcome: 'stopped', steps: 13 });
      const last = checkpoints.at(-1) as Checkpoint;
      expect(last.step).toBe(13);
      const resumed = await record(jobSpec, dataset, {}, last);
      expect(resumed.steps).toEqual(uninterrupted.steps.slice(13));
      expect(resumed.epochs.at(-1)?.testAccuracy).toBe(uninterrupted.epochs.at(-1)?.testAccuracy);
    });
  });
});
