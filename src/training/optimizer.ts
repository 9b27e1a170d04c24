import * as tf from '@tensorflow/tfjs';
import type { OptimizerName } from '../domain/job-spec.js';
import type { Model } from './model.js';

/** The optimizer a spec names, with tfjs's defaults (momentum 0.9 for `momentum`). */
export function createOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'momentum':
      return tf.train.momentum(learningRate, 0.9);
    case 'adam':
      return tf.train.adam(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
  }
}

// MomentumOptimizer.dispose() forgets the learning-rate scalar its SGD base class keeps (tfjs 4.22;
// `c` is that field's minified name there, so this is tied to the version the fast path pins).
export function disposeOptimizer(optimizer: tf.Optimizer): void {
  optimizer.dispose();
  if (optimizer instanceof tf.MomentumOptimizer) {
    const inherited = (optimizer as unknown as { c?: tf.Tensor }).c;
    if (inherited && !inherited.isDisposed) inherited.dispose();
  }
}

/**
 * One optimizer step on a batch (row-major inputs and one-hot targets); returns the batch's mean
 * loss as a scalar the caller disposes.
 */
export function trainingStep(
  model: Model,
  optimizer: tf.Optimizer,
  inputs: Float32Array,
  targets: Float32Array,
  dropoutSeed: number,
): tf.Scalar {
  const features = model.inputFeatures;
  const size = inputs.length / features;
  return tf.tidy(() => {
    const x = tf.tensor2d(inputs, [size, features]);
    const y = tf.tensor2d(targets, [size, targets.length / size]);
    return optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.logits(x, { dropoutSeed })),
      true,
      model.variables,
    ) as tf.Scalar;
  });
}
