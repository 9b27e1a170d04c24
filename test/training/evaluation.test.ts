import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classMetrics, createEvaluationAccumulator, topPredictions } from '../../src/training/evaluation.js';

describe('evaluation', () => {
  it('counts a hand-checked case into the confusion matrix with per-class precision, recall and F1', () => {
    const evaluation = createEvaluationAccumulator(3);
    // true:      0 0 0 1 1 2
    // predicted: 0 0 1 1 0 1
    evaluation.add({
      firstIndex: 0,
      trueLabels: [0, 0, 0],
      predictedLabels: [0, 0, 1],
      confidences: [0.9, 0.8, 0.7],
    });
    evaluation.add({ firstIndex: 3, trueLabels: [1, 1, 2], predictedLabels: [1, 0, 1], confidences: [0.6, 0.95, 0.5] });
    const result = evaluation.result();
    expect(result.confusionMatrix).toEqual([
      [2, 1, 0],
      [1, 1, 0],
      [0, 1, 0],
    ]);
    expect(result).toMatchObject({ count: 6, correct: 3, accuracy: 0.5 });
    const [zero, one, two] = result.classes;
    expect(zero).toMatchObject({ support: 3, predicted: 3, precision: 2 / 3, recall: 2 / 3, accuracy: 2 / 3 });
    expect(zero?.f1).toBeCloseTo(2 / 3, 12);
    expect(one).toMatchObject({ support: 2, predicted: 3, precision: 1 / 3, recall: 1 / 2 });
    expect(one?.f1).toBeCloseTo((2 * (1 / 3) * (1 / 2)) / (1 / 3 + 1 / 2), 12);
    // Class 2 is never predicted: its precision is undefined (null), its recall and F1 are 0.
    expect(two).toMatchObject({ support: 1, predicted: 0, precision: null, recall: 0, f1: 0, accuracy: 0 });
    expect(result.macro.precision).toBeCloseTo((2 / 3 + 1 / 3) / 2, 12);
    expect(result.macro.recall).toBeCloseTo((2 / 3 + 1 / 2 + 0) / 3, 12);
    // Mistakes by confidence, with their test indexes.
    expect(result.mistakes).toEqual([
      { index: 4, trueLabel: 1, predictedLabel: 0, confidence: 0.95 },
      { index: 2, trueLabel: 0, predictedLabel: 1, confidence: 0.7 },
      { index: 5, trueLabel: 2, predictedLabel: 1, confidence: 0.5 },
    ]);
  });

  it('gives null metrics for a class neither present nor predicted, and for an empty test pass', () => {
    const [present, absent] = classMetrics([
      [4, 0],
      [0, 0],
    ]);
    expect(present).toMatchObject({ precision: 1, recall: 1, f1: 1 });
    expect(absent).toMatchObject({ support: 0, predicted: 0, precision: null, recall: null, f1: null, accuracy: null });
    const empty = createEvaluationAccumulator(2).result();
    expect(empty).toMatchObject({ count: 0, correct: 0, accuracy: null, mistakes: [] });
    expect(empty.macro).toEqual({ precision: null, recall: null, f1: null });
  });

  it('refuses labels outside the classes, naming the test example', () => {
    const evaluation = createEvaluationAccumulator(2);
    expect(() =>
      evaluation.add({ firstIndex: 10, trueLabels: [0, 2], predictedLabels: [0, 1], confidences: [1, 1] }),
    ).toThrow('test example 11');
  });

  it('takes the label and probability of the most likely class of each row', () => {
    const { predictedLabels, confidences } = topPredictions([0.1, 0.7, 0.2, 0.5, 0.25, 0.25], 3);
    expect(Array.from(predictedLabels)).toEqual([1, 0]);
    expect(Array.from(confidences)).toEqual([Math.fround(0.7), 0.5]);
  });

  it('for any predictions: the diagonal sums to the correct count, rows to the supports, and the mistakes kept are the most confident', () => {
    const example = fc.record({
      trueLabel: fc.integer({ min: 0, max: 4 }),
      predictedLabel: fc.integer({ min: 0, max: 4 }),
      confidence: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(example, { maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (examples, batchSize) => {
        const evaluation = createEvaluationAccumulator(5, { maxMistakes: 7 });
        for (let start = 0; start < examples.length; start += batchSize) {
          const batch = examples.slice(start, start + batchSize);
          evaluation.add({
            firstIndex: start,
            trueLabels: batch.map((item) => item.trueLabel),
            predictedLabels: batch.map((item) => item.predictedLabel),
            confidences: batch.map((item) => item.confidence),
          });
        }
        const result = evaluation.result();
        const correct = examples.filter((item) => item.trueLabel === item.predictedLabel).length;
        const diagonal = result.confusionMatrix.reduce((sum, row, label) => sum + (row[label] ?? 0), 0);
        expect(diagonal).toBe(correct);
        expect(result.correct).toBe(correct);
        expect(result.classes.reduce((sum, metrics) => sum + metrics.support, 0)).toBe(examples.length);
        const expectedMistakes = examples
          .map((item, index) => ({ ...item, index }))
          .filter((item) => item.trueLabel !== item.predictedLabel)
          .sort((a, b) => b.confidence - a.confidence || a.index - b.index)
          .slice(0, 7);
        expect(result.mistakes).toEqual(expectedMistakes);
      }),
    );
  });
});
