import * as tf from '@tensorflow/tfjs';
import type { OptimizerName } from '../domain/job-spec.js';
import { FusedOptimizer } from './fused-optimizer.js';
import { trainingKernels } from './kernels/training-kernels.js';
import type { Model } from './model.js';
import { wasmFastPathInstalled } from './wasm-fast-path.js';
import { wasmBackend } from './wasm-heap.js';

/** An optimizer training can use: tfjs's own, or the fused one on the WebAssembly fast path. */
export type TrainingOptimizer = tf.Optimizer | FusedOptimizer;

function tfjsOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
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

/**
 * The optimizer a spec names, with tfjs's defaults (momentum 0.9 for `momentum`): on the WebAssembly
 * fast path the fused one, which computes what tfjs's does in one kernel per variable; elsewhere tfjs's.
 */
export function createOptimizer(name: OptimizerName, learningRate: number): TrainingOptimizer {
  const backend = wasmBackend();
  const kernels = trainingKernels();
  if (backend && kernels && wasmFastPathInstalled(tf)) return new FusedOptimizer(name, learningRate, kernels, backend);
  return tfjsOptimizer(name, learningRate);
}

/** Makes the optimizer's state for `variables` ahead of the first step where it can (the fused optimizer's slots). */
export function prepareOptimizer(optimizer: TrainingOptimizer, variables: readonly tf.Variable[]): void {
  if (optimizer instanceof FusedOptimizer) optimizer.prepare(variables);
}

// MomentumOptimizer.dispose() forgets the learning-rate scalar its SGD base class keeps (tfjs 4.22;
// `c` is that field's minified name there, so this is tied to the version the fast path pins).
export function disposeOptimizer(optimizer: TrainingOptimizer): void {
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
  optimizer: TrainingOptimizer,
  inputs: Float32Array,
  targets: Float32Array,
  dropoutSeed: number,
): tf.Scalar {
  const features = model.inputFeatures;
  const size = inputs.length / features;
  return tf.tidy(() => {
    const x = tf.tensor2d(inputs, [size, features]);
    const y = tf.tensor2d(targets, [size, targets.length / size]);
    const loss = (): tf.Scalar => tf.losses.softmaxCrossEntropy(y, model.logits(x, { dropoutSeed }));
    if (!(optimizer instanceof FusedOptimizer)) return optimizer.minimize(loss, true, model.variables) as tf.Scalar;
    const { value, grads } = tf.variableGrads(loss, model.variables);
    optimizer.applyGradients(
      model.variables,
      model.variables.map((variable) => grads[variable.name] as tf.Tensor),
    );
    return value;
  });
}
