// Where a model fails, as the worker records it after every epoch's test pass and the API serves it.
// Types only: the accumulator that computes them lives in training/evaluation.ts.

/** A test example the model got wrong. */
export interface Mistake {
  /** Index of the example in the test split. */
  index: number;
  trueLabel: number;
  predictedLabel: number;
  /** The probability the model gave its (wrong) prediction. */
  confidence: number;
}

/**
 * Metrics of one class. A ratio whose denominator is zero is null rather than 0, so "never predicted"
 * is not reported as "always wrong": precision is null for a class never predicted, recall (and
 * accuracy) for a class absent from the test set, F1 = 2TP / (2TP + FP + FN) for a class neither
 * present nor predicted.
 */
export interface ClassMetrics {
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
}

export interface Evaluation {
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
}
