import * as tf from '@tensorflow/tfjs';
import type { DatasetSplit, Labels } from '../datasets/loading/index.js';
import type { Model } from './model.js';

/** One chunk of a test pass: the class predicted for each example from `start` on, and its label. */
export interface TestPredictions {
  /** Index of the chunk's first example in the test split. */
  start: number;
  /** Predicted class (argmax of the logits) per example. */
  predicted: Int32Array;
  /** True class per example, a view into the split. */
  labels: Labels;
  /** Probability (softmax of the logits) of the predicted class, per example. */
  confidences: Float32Array;
}

export interface TestPassSettings {
  /** Test examples to use: the split's first `count`. */
  count: number;
  classes: number;
  /** Test examples per forward pass. */
  chunkSize: number;
}

export interface TestResult {
  /** Fraction of the examples classified correctly, 0..1. */
  testAccuracy: number;
  /** Mean softmax cross-entropy over the examples. */
  testLoss: number;
}

/**
 * Test accuracy and mean test loss over the first `count` test examples, a chunk at a time. With
 * `onPredictions`, each chunk's predicted classes and their probabilities are also read back and
 * handed over, in example order, so a caller can accumulate more (a confusion matrix) without a second pass; the results
 * are the same either way.
 */
export function testPass(
  model: Model,
  split: DatasetSplit,
  { count, classes, chunkSize }: TestPassSettings,
  onPredictions?: (predictions: TestPredictions) => void,
): TestResult {
  let correct = 0;
  let lossSum = 0;
  for (let start = 0; start < count; start += chunkSize) {
    const size = Math.min(chunkSize, count - start);
    const labels = split.labels.subarray(start, start + size);
    const chunk = tf.tidy(() => {
      const inputs = tf.tensor2d(split.inputs.subarray(start * split.features, (start + size) * split.features), [
        size,
        split.features,
      ]);
      // tfjs takes 8-bit or 32-bit integers, not 16-bit ones.
      const labelTensor = tf.tensor1d(labels instanceof Uint8Array ? labels : Int32Array.from(labels), 'int32');
      const logits = model.logits(inputs);
      const loss = tf.losses.softmaxCrossEntropy(
        tf.oneHot(labelTensor, classes),
        logits,
        undefined,
        undefined,
        tf.Reduction.SUM,
      );
      const predicted = tf.argMax(logits, 1);
      const hits = tf.sum(tf.cast(tf.equal(predicted, labelTensor), 'float32'));
      return {
        loss: loss.dataSync()[0] ?? Number.NaN,
        hits: hits.dataSync()[0] ?? 0,
        predicted: onPredictions ? (predicted.dataSync() as Int32Array) : undefined,
        // The largest probability is the predicted class's: argMax of the logits is argMax of their softmax.
        confidences: onPredictions ? (tf.max(tf.softmax(logits), 1).dataSync() as Float32Array) : undefined,
      };
    });
    lossSum += chunk.loss;
    correct += chunk.hits;
    if (chunk.predicted && chunk.confidences)
      onPredictions?.({ start, predicted: chunk.predicted, labels, confidences: chunk.confidences });
  }
  return { testAccuracy: correct / count, testLoss: lossSum / count };
}
