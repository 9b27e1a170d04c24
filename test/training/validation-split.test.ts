import { beforeAll, describe, expect, it } from 'vitest';
import { validationSampleCount, trainSampleCount, stepsPerEpoch } from '../../src/domain/model-shape.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import { validationSplit } from '../../src/training/validation-split.js';
import { parsedSmallSpec } from '../helpers/specs.js';

describe('validation split', () => {
  let dataset: Dataset;
  beforeAll(async () => {
    dataset = await loadDataset('mnist');
  });

  it('holds out a seeded random part of the training pool, disjoint from what is trained on', () => {
    const spec = parsedSmallSpec({ trainSamples: 2000, validationSamples: 300, seed: 11 });
    const split = validationSplit(spec, dataset.train, dataset.info);
    if (!split) throw new Error('expected a split');
    expect(split.validationIndices).toHaveLength(300);
    expect(split.trainIndices).toHaveLength(1700);
    const held = new Set(split.validationIndices);
    expect(split.trainIndices.some((index) => held.has(index))).toBe(false);
    // Together they are exactly the pool: the first 2000 examples.
    expect([...split.trainIndices, ...split.validationIndices].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 2000 }, (_, index) => index),
    );
    // Random, not a prefix or suffix of the pool.
    expect(Math.max(...split.validationIndices)).toBeGreaterThan(1500);
    expect(Math.min(...split.validationIndices)).toBeLessThan(500);
    // The copied examples are the held-out ones.
    const first = split.validationIndices[0] as number;
    expect(split.validation.labels[0]).toBe(dataset.train.labels[first]);
    expect(split.validation.inputs.subarray(0, 784)).toEqual(
      dataset.train.inputs.subarray(first * 784, (first + 1) * 784),
    );
  });

  it('is the same for the same seed and differs for another', () => {
    const indices = (seed: number) =>
      validationSplit(
        parsedSmallSpec({ trainSamples: 1000, validationFraction: 0.1, seed }),
        dataset.train,
        dataset.info,
      )?.validationIndices;
    expect(indices(3)).toEqual(indices(3));
    expect(indices(3)).not.toEqual(indices(4));
    expect(indices(3)).toHaveLength(100);
  });

  it('shrinks the epoch by the held-out examples, and is absent without a split', () => {
    const spec = parsedSmallSpec({ trainSamples: 1000, validationFraction: 0.2, batchSize: 100 });
    expect(validationSampleCount(spec, dataset.info)).toBe(200);
    expect(trainSampleCount(spec, dataset.info)).toBe(800);
    expect(stepsPerEpoch(spec, dataset.info)).toBe(8);
    expect(validationSplit(parsedSmallSpec(), dataset.train, dataset.info)).toBeUndefined();
  });
});
