import * as tf from '@tensorflow/tfjs';
import type { Activation, LayerSpec } from '../domain/job-spec.js';
import { Random } from './random.js';

interface DenseParameters {
  kind: 'dense';
  weights: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1>;
  activation: Activation;
}

interface DropoutStage {
  kind: 'dropout';
  rate: number;
}

type Stage = DenseParameters | DropoutStage;

/** A feed-forward network built from a spec: its trainable variables and a forward pass to logits. */
export interface Model {
  readonly inputFeatures: number;
  readonly variables: tf.Variable[];
  /** Logits for a [batch, features] input; dropout is active only when `training.dropoutSeed` is given. */
  logits(inputs: tf.Tensor2D, training?: { dropoutSeed: number }): tf.Tensor2D;
  dispose(): void;
}

// PyTorch's default for Linear layers: weights and biases uniform in +-1/sqrt(fan_in).
function uniformInit(random: Random, length: number, bound: number): Float32Array {
  const values = new Float32Array(length);
  for (let index = 0; index < length; index++) values[index] = (random.next() * 2 - 1) * bound;
  return values;
}

// Fused matMul has no tanh, so tanh (and only tanh) runs as a separate op after a linear one.
const fusedActivation = { relu: 'relu', sigmoid: 'sigmoid', linear: 'linear', tanh: 'linear' } as const;

/** Builds the network of `layers` on `inputFeatures` inputs, initialised from `seed`. */
export function buildModel(layers: readonly LayerSpec[], inputFeatures: number, seed: number): Model {
  const random = new Random(seed);
  const stages: Stage[] = [];
  let fanIn = inputFeatures;
  for (const [index, layer] of layers.entries()) {
    if (layer.type === 'dropout') {
      stages.push({ kind: 'dropout', rate: layer.rate });
      continue;
    }
    const bound = 1 / Math.sqrt(fanIn);
    stages.push({
      kind: 'dense',
      // tidy frees the initial tensors; the variables hold their own reference to the values.
      weights: tf.tidy(() =>
        tf.variable(
          tf.tensor2d(uniformInit(random, fanIn * layer.units, bound), [fanIn, layer.units]),
          true,
          `dense${index}/kernel`,
        ),
      ),
      bias: tf.tidy(() =>
        tf.variable(tf.tensor1d(uniformInit(random, layer.units, bound)), true, `dense${index}/bias`),
      ),
      activation: layer.activation,
    });
    fanIn = layer.units;
  }
  const variables = stages.flatMap((stage) => (stage.kind === 'dense' ? [stage.weights, stage.bias] : []));

  return {
    inputFeatures,
    variables,
    logits(inputs, training) {
      let activations: tf.Tensor2D = inputs;
      for (const [index, stage] of stages.entries()) {
        if (stage.kind === 'dropout') {
          if (training && stage.rate > 0) {
            // Inverted dropout with a mask seeded per step and layer, so runs repeat exactly.
            const keep = tf.randomUniform(activations.shape, 0, 1, 'float32', training.dropoutSeed + index);
            const mask = tf.mul(tf.cast(tf.greaterEqual(keep, stage.rate), 'float32'), 1 / (1 - stage.rate));
            activations = tf.mul(activations, mask);
          }
          continue;
        }
        activations = tf.fused.matMul({
          a: activations,
          b: stage.weights,
          bias: stage.bias,
          activation: fusedActivation[stage.activation],
        }) as tf.Tensor2D;
        if (stage.activation === 'tanh') activations = tf.tanh(activations);
      }
      return activations;
    },
    dispose() {
      for (const variable of variables) variable.dispose();
    },
  };
}
