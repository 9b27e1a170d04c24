import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.js';
import { loadDataset, type Dataset, type DatasetSplit } from '../../src/datasets/loading/index.js';
import { EpochBatches } from '../../src/training/epoch-batches.js';
import { Random } from '../../src/training/random.js';
import { train, type Checkpoint, type EpochMetrics } from '../../src/training/train.js';
import { parsedSmallSpec } from '../helpers/specs.js';

describe('training with a validation split and early stopping', () => {
  let dataset: Dataset;
  beforeAll(async () => {
    await selectBackend('auto');
    dataset = await loadDataset('mnist');
  });

  it('trains only on the examples it is given, never on the held-out ones', () => {
    // One feature per example holding its own index, so a batch shows which examples it holds.
    const split: DatasetSplit = {
      inputs: Float32Array.from({ length: 20 }, (_, index) => index),
      labels: new Uint8Array(20),
      count: 20,
      features: 1,
    };
    const trained = Uint32Array.from([0, 2, 3, 5, 7, 11, 13, 17]);
    const batches = new EpochBatches(split, trained.length, 10, 3, trained);
    const random = new Random(1);
    for (let epoch = 0; epoch < 3; epoch++) {
      batches.shuffle(random);
      const seen = [0, 1, 2].flatMap((index) => [...batches.batch(index).inputs]);
      expect(seen.sort((a, b) => a - b)).toEqual([...trained]);
    }
  });

  it('records validation loss and accuracy after every epoch, and trains on the rest', async () => {
    const spec = parsedSmallSpec({ trainSamples: 1200, testSamples: 300, validationSamples: 200, epochs: 2 });
    const epochs: EpochMetrics[] = [];
    let steps = 0;
    const result = await train(spec, dataset, {
      onEpoch: (metrics) => epochs.push(metrics),
      onSteps: (batch) => (steps += batch.length),
    });
    expect(result.outcome).toBe('completed');
    expect(steps).toBe(2 * Math.ceil(1000 / 64));
    expect(epochs).toHaveLength(2);
    for (const metrics of epochs) {
      expect(metrics.validationAccuracy).toBeGreaterThan(0.3);
      expect(metrics.validationAccuracy).toBeLessThanOrEqual(1);
      expect(metrics.validationLoss).toBeGreaterThan(0);
    }
    expect(result.stoppedEarly).toBeUndefined();
  });

  it('ends completed with stoppedEarly when the watched metric stops improving', async () => {
    // The training loss falls every epoch, so "max" never improves after epoch 1.
    const spec = parsedSmallSpec({
      trainSamples: 500,
      testSamples: 100,
      epochs: 6,
      earlyStopping: { metric: 'trainLoss', mode: 'max', patience: 2 },
    });
    const epochs: EpochMetrics[] = [];
    const checkpoints: number[] = [];
    const result = await train(spec, dataset, {
      onEpoch: (metrics) => epochs.push(metrics),
      onCheckpoint: (checkpoint) => checkpoints.push(checkpoint.epoch),
    });
    expect(result.outcome).toBe('completed');
    expect(epochs.map((metrics) => metrics.epoch)).toEqual([1, 2, 3]);
    expect(result.stoppedEarly).toEqual({
      epoch: 3,
      reason: expect.stringMatching(/trainLoss did not rise for 2 epochs/) as string,
    });
    // Every epoch trained leaves a checkpoint, the last too: a run can be continued from it.
    expect(checkpoints).toEqual([1, 2, 3]);
  });

  it('counts the epochs before a resume towards the patience', async () => {
    const spec = parsedSmallSpec({
      trainSamples: 300,
      testSamples: 100,
      epochs: 4,
      earlyStopping: { metric: 'trainLoss', mode: 'min', patience: 2 },
    });
    const checkpoints: Checkpoint[] = [];
    await train(spec, dataset, { onCheckpoint: (checkpoint) => checkpoints.push(checkpoint) });
    const afterEpoch1 = checkpoints.find((checkpoint) => checkpoint.epoch === 1) as Checkpoint;
    // A recorded epoch 1 no later epoch beats: epochs 2 and 3 do not improve on it.
    const previousEpochs: EpochMetrics[] = [
      { epoch: 1, testAccuracy: 0.5, testLoss: 1, trainLoss: 0, durationMs: 1, samplesPerSecond: 1 },
    ];
    const resumed = await train(spec, dataset, {}, { previousEpochs }, afterEpoch1);
    expect(resumed.stoppedEarly?.epoch).toBe(3);
    const forgetful = await train(spec, dataset, {}, {}, afterEpoch1);
    expect(forgetful.stoppedEarly).toBeUndefined();
  });
});
