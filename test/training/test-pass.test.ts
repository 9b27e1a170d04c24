import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import { buildModel } from '../../src/training/model.js';
import { testPass, type TestPredictions } from '../../src/training/test-pass.js';
import { train, type EpochMetrics } from '../../src/training/train.js';
import { parsedSmallSpec } from '../helpers/specs.js';

const spec = () => parsedSmallSpec({ trainSamples: 320, testSamples: 250, epochs: 2 });

describe('test pass', () => {
  let dataset: Dataset;
  beforeAll(async () => {
    await selectBackend('auto');
    dataset = await loadDataset('mnist');
  });

  it('hands over every example’s prediction once, in order, with results the same as without', () => {
    const model = buildModel(spec().model.layers, 784, 3);
    try {
      const settings = { count: 250, classes: 10, chunkSize: 100 };
      const chunks: TestPredictions[] = [];
      const withPredictions = testPass(model, dataset.test, settings, (chunk) => chunks.push(chunk));
      expect(withPredictions).toEqual(testPass(model, dataset.test, settings));
      expect(chunks.map(({ start, predicted }) => [start, predicted.length])).toEqual([
        [0, 100],
        [100, 100],
        [200, 50],
      ]);
      let correct = 0;
      for (const { start, predicted, labels, confidences } of chunks) {
        expect(labels).toEqual(dataset.test.labels.subarray(start, start + predicted.length));
        // The predicted class's softmax probability: the largest of ten, so at least a tenth.
        expect(confidences).toHaveLength(predicted.length);
        expect(confidences.every((confidence) => confidence >= 0.1 && confidence <= 1)).toBe(true);
        predicted.forEach((predictedClass, index) => (correct += predictedClass === labels[index] ? 1 : 0));
      }
      expect(correct / 250).toBe(withPredictions.testAccuracy);
    } finally {
      model.dispose();
    }
  });

  it('reports each epoch’s predictions to onTestPredictions without changing training', async () => {
    const plain: EpochMetrics[] = [];
    await train(spec(), dataset, { onEpoch: (metrics) => plain.push(metrics) });
    const observed: EpochMetrics[] = [];
    const seen: { epoch: number; examples: number }[] = [];
    await train(spec(), dataset, {
      onEpoch: (metrics) => observed.push(metrics),
      onTestPredictions: (epoch, { predicted }) => seen.push({ epoch, examples: predicted.length }),
    });
    const results = (epochs: EpochMetrics[]) =>
      epochs.map(({ epoch, testAccuracy, testLoss, trainLoss }) => ({ epoch, testAccuracy, testLoss, trainLoss }));
    expect(results(observed)).toEqual(results(plain));
    expect(seen).toEqual([
      { epoch: 1, examples: 250 },
      { epoch: 2, examples: 250 },
    ]);
  });
});
