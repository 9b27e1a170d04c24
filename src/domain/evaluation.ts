// Where a model fails, as one epoch's test pass measured it: the shape training produces, the store
// keeps with the epoch's metrics and the API serves. Type aliases rather than interfaces, so they
// count as JSON objects where a JSON column is written.
import { z } from 'zod';

/** A test example the model got wrong. */
export type Mistake = {
  /** Index of the example in the test split. */
  index: number;
  trueLabel: number;
  predictedLabel: number;
  /** The probability the model gave its (wrong) prediction. */
  confidence: number;
};

/**
 * Metrics of one class. A ratio whose denominator is zero is null rather than 0, so "never predicted"
 * is not reported as "always wrong": precision is null for a class never predicted, recall (and
 * accuracy) for a class absent from the test set, F1 = 2TP / (2TP + FP + FN) for a class neither
 * present nor predicted.
 */
export type ClassMetrics = {
  label: number;
  /** Test examples of this class. */
  support: number;
  /** Test examples predicted as this class. */
  predicted: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  /** Share of this class's examples classified correctly (the same number as recall). */
  accuracy: number | null;
};

export type Evaluation = {
  classCount: number;
  count: number;
  correct: number;
  accuracy: number | null;
  /** confusionMatrix[true label][predicted label] = number of test examples. */
  confusionMatrix: number[][];
  classes: ClassMetrics[];
  /** Means over the classes whose value is defined (null when none is). */
  macro: { precision: number | null; recall: number | null; f1: number | null };
  /** The most confident mistakes, most confident first (ties: lower index first). */
  mistakes: Mistake[];
};

const count = z.number().int().nonnegative();
const share = z.number().nullable();

/** Parses an evaluation read back from storage (the JSON `Evaluation` was written as). */
export const evaluationSchema = z.object({
  classCount: count,
  count,
  correct: count,
  accuracy: share,
  confusionMatrix: z.array(z.array(count)),
  classes: z.array(
    z.object({
      label: count,
      support: count,
      predicted: count,
      precision: share,
      recall: share,
      f1: share,
      accuracy: share,
    }),
  ),
  macro: z.object({ precision: share, recall: share, f1: share }),
  mistakes: z.array(z.object({ index: count, trueLabel: count, predictedLabel: count, confidence: z.number() })),
}) satisfies z.ZodType<Evaluation>;

/** Accuracy of each class in label order (null for a class absent from the test set). */
export function perClassAccuracy(evaluation: Pick<Evaluation, 'classes'>): (number | null)[] {
  return evaluation.classes.map((metrics) => metrics.accuracy);
}
