// Where a model fails: a confusion matrix and per-class metrics gathered batch by batch during the
// test pass (no extra pass over the data), plus the most confident mistakes.
import type { ClassMetrics, Evaluation } from '../domain/evaluation.js';
import { MistakeHeap } from './mistake-heap.js';

export type { ClassMetrics, Evaluation, Mistake } from '../domain/evaluation.js';

/** Predictions of one test batch, example by example. */
export interface BatchPredictions {
  /** Test index of the batch's first example. */
  firstIndex: number;
  trueLabels: ArrayLike<number>;
  predictedLabels: ArrayLike<number>;
  /** The probability of each predicted label. */
  confidences: ArrayLike<number>;
}

const ratio = (numerator: number, denominator: number): number | null =>
  denominator === 0 ? null : numerator / denominator;

function mean(values: readonly (number | null)[]): number | null {
  const defined = values.filter((value): value is number => value !== null);
  return defined.length === 0 ? null : defined.reduce((sum, value) => sum + value, 0) / defined.length;
}

/** Per-class metrics from a confusion matrix (rows: true labels, columns: predictions). */
export function classMetrics(confusionMatrix: readonly (readonly number[])[]): ClassMetrics[] {
  const classCount = confusionMatrix.length;
  return confusionMatrix.map((row, label) => {
    const truePositives = row[label] ?? 0;
    const support = row.reduce((sum, count) => sum + count, 0);
    let predicted = 0;
    for (let other = 0; other < classCount; other++) predicted += confusionMatrix[other]?.[label] ?? 0;
    const recall = ratio(truePositives, support);
    const errors = support - truePositives + (predicted - truePositives);
    return {
      label,
      support,
      predicted,
      precision: ratio(truePositives, predicted),
      recall,
      f1: ratio(2 * truePositives, 2 * truePositives + errors),
      accuracy: recall,
    };
  });
}

/** Label and probability of the most likely class of each row of `probabilities` ([rows, classCount]). */
export function topPredictions(
  probabilities: ArrayLike<number>,
  classCount: number,
): { predictedLabels: Int32Array; confidences: Float32Array } {
  const rows = Math.floor(probabilities.length / classCount);
  const predictedLabels = new Int32Array(rows);
  const confidences = new Float32Array(rows);
  for (let row = 0; row < rows; row++) {
    let best = 0;
    for (let label = 1; label < classCount; label++) {
      if ((probabilities[row * classCount + label] ?? 0) > (probabilities[row * classCount + best] ?? 0)) best = label;
    }
    predictedLabels[row] = best;
    confidences[row] = probabilities[row * classCount + best] ?? 0;
  }
  return { predictedLabels, confidences };
}

/**
 * Gathers a test pass batch by batch: `add` each batch's predictions, then `result` gives the
 * confusion matrix, per-class metrics and the `maxMistakes` (50) most confident mistakes.
 */
export function createEvaluationAccumulator(classCount: number, options: { maxMistakes?: number } = {}) {
  const counts = new Float64Array(classCount * classCount);
  const mistakes = new MistakeHeap(options.maxMistakes ?? 50);
  let count = 0;
  let correct = 0;

  return {
    add(batch: BatchPredictions): void {
      const { trueLabels, predictedLabels, confidences, firstIndex } = batch;
      for (let row = 0; row < trueLabels.length; row++) {
        const trueLabel = trueLabels[row] ?? -1;
        const predictedLabel = predictedLabels[row] ?? -1;
        if (!(trueLabel >= 0 && trueLabel < classCount && predictedLabel >= 0 && predictedLabel < classCount))
          throw new RangeError(`labels of test example ${firstIndex + row} are outside 0..${classCount - 1}`);
        counts[trueLabel * classCount + predictedLabel]! += 1;
        count++;
        if (trueLabel === predictedLabel) correct++;
        else mistakes.offer({ index: firstIndex + row, trueLabel, predictedLabel, confidence: confidences[row] ?? 0 });
      }
    },

    result(): Evaluation {
      const confusionMatrix = Array.from({ length: classCount }, (_, row) =>
        Array.from(counts.subarray(row * classCount, (row + 1) * classCount)),
      );
      const classes = classMetrics(confusionMatrix);
      return {
        classCount,
        count,
        correct,
        accuracy: ratio(correct, count),
        confusionMatrix,
        classes,
        macro: {
          precision: mean(classes.map((metrics) => metrics.precision)),
          recall: mean(classes.map((metrics) => metrics.recall)),
          f1: mean(classes.map((metrics) => metrics.f1)),
        },
        mistakes: mistakes.sorted(),
      };
    },
  };
}

export type EvaluationAccumulator = ReturnType<typeof createEvaluationAccumulator>;
