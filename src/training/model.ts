import * as tf from '@tensorflow/tfjs';
import type { Activation, LayerSpec } from '../domain/job-spec.js';
import { layerShapes, modelInputShape, windowPair, type ModelInput, type Shape } from '../domain/model-shape.js';
import { Random } from './random.js';

interface DenseStage {
  kind: 'dense';
  weights: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1>;
  activation: Activation;
}

interface ConvStage {
  kind: 'conv2d';
  /** [kernelHeight, kernelWidth, inChannels, filters], tfjs's layout. */
  filter: tf.Variable<tf.Rank.R4>;
  bias: tf.Variable<tf.Rank.R1>;
  strides: [number, number];
  padding: 'valid' | 'same';
  activation: Activation;
}

interface PoolStage {
  kind: 'maxPool2d' | 'avgPool2d';
  poolSize: [number, number];
  strides: [number, number];
  padding: 'valid' | 'same';
}

interface BatchNormStage {
  kind: 'batchNormalization';
  gamma: tf.Variable<tf.Rank.R1>;
  beta: tf.Variable<tf.Rank.R1>;
  movingMean: tf.Variable<tf.Rank.R1>;
  movingVariance: tf.Variable<tf.Rank.R1>;
  momentum: number;
  epsilon: number;
}

type Stage =
  | DenseStage
  | ConvStage
  | PoolStage
  | BatchNormStage
  | { kind: 'dropout'; rate: number }
  | { kind: 'flatten'; features: number };

/** A feed-forward network built from a spec: its trainable variables and a forward pass to logits. */
export interface Model {
  /** Features of one example as the data holds it: flat, row-major. */
  readonly inputFeatures: number;
  /** The shape the first layer takes ([features], or [height, width, channels] for image layers). */
  readonly inputShape: Shape;
  /** What the optimizer trains. */
  readonly variables: tf.Variable[];
  /** Everything a checkpoint must hold: the trainable variables, then batch normalisation's moving statistics. */
  readonly state: tf.Variable[];
  /**
   * Logits for a [batch, features] input. With `training` given, dropout is active (masks seeded by
   * `dropoutSeed`) and batch normalisation uses and updates its batch statistics.
   */
  logits(inputs: tf.Tensor2D, training?: { dropoutSeed: number }): tf.Tensor2D;
  dispose(): void;
}

// PyTorch's default for Linear and Conv2d layers (kaiming_uniform with a = sqrt(5), and the bias
// rule): weights and biases uniform in +-1/sqrt(fan_in).
function uniformInit(random: Random, length: number, bound: number): Float32Array {
  const values = new Float32Array(length);
  for (let index = 0; index < length; index++) values[index] = (random.next() * 2 - 1) * bound;
  return values;
}

// Fused matMul and conv2d have no tanh, so tanh (and only tanh) runs as a separate op after a linear one.
const fusedActivation = { relu: 'relu', sigmoid: 'sigmoid', linear: 'linear', tanh: 'linear' } as const;

// tidy frees the initial tensors; the variables hold their own reference to the values.
function variable<R extends tf.Rank>(values: Float32Array, shape: number[], name: string, trainable = true) {
  return tf.tidy(() => tf.variable(tf.tensor<tf.Rank>(values, shape) as tf.Tensor<R>, trainable, name));
}

function filled(length: number, value: number): Float32Array {
  return new Float32Array(length).fill(value);
}

function buildStage(layer: LayerSpec, input: Shape, index: number, random: Random): Stage {
  switch (layer.type) {
    case 'dense': {
      const fanIn = input[0] ?? 1;
      const bound = 1 / Math.sqrt(fanIn);
      return {
        kind: 'dense',
        weights: variable(
          uniformInit(random, fanIn * layer.units, bound),
          [fanIn, layer.units],
          `dense${index}/kernel`,
        ),
        bias: variable(uniformInit(random, layer.units, bound), [layer.units], `dense${index}/bias`),
        activation: layer.activation,
      };
    }
    case 'conv2d': {
      const [kernelHeight, kernelWidth] = windowPair(layer.kernelSize);
      const shape = [kernelHeight, kernelWidth, input[2] ?? 1, layer.filters];
      const fanIn = kernelHeight * kernelWidth * (input[2] ?? 1);
      const bound = 1 / Math.sqrt(fanIn);
      return {
        kind: 'conv2d',
        filter: variable(uniformInit(random, fanIn * layer.filters, bound), shape, `conv2d${index}/kernel`),
        bias: variable(uniformInit(random, layer.filters, bound), [layer.filters], `conv2d${index}/bias`),
        strides: windowPair(layer.strides),
        padding: layer.padding,
        activation: layer.activation,
      };
    }
    case 'maxPool2d':
    case 'avgPool2d':
      return {
        kind: layer.type,
        poolSize: windowPair(layer.poolSize),
        strides: windowPair(layer.strides ?? layer.poolSize),
        padding: layer.padding,
      };
    case 'batchNormalization': {
      const channels = input.at(-1) ?? 1;
      const name = `batchNormalization${index}`;
      return {
        kind: 'batchNormalization',
        gamma: variable(filled(channels, 1), [channels], `${name}/gamma`),
        beta: variable(filled(channels, 0), [channels], `${name}/beta`),
        movingMean: variable(filled(channels, 0), [channels], `${name}/moving_mean`, false),
        movingVariance: variable(filled(channels, 1), [channels], `${name}/moving_variance`, false),
        momentum: layer.momentum,
        epsilon: layer.epsilon,
      };
    }
    case 'flatten':
      return { kind: 'flatten', features: input.reduce((total, dimension) => total * dimension, 1) };
    case 'dropout':
      return { kind: 'dropout', rate: layer.rate };
  }
}

function trainableOf(stage: Stage): tf.Variable[] {
  if (stage.kind === 'dense') return [stage.weights, stage.bias];
  if (stage.kind === 'conv2d') return [stage.filter, stage.bias];
  if (stage.kind === 'batchNormalization') return [stage.gamma, stage.beta];
  return [];
}

// Normalises over every axis but the last (the batch, and height and width after a convolution).
// In training it uses the batch's statistics and moves the moving ones towards them (PyTorch's
// unbiased variance for the moving one); otherwise it uses the moving ones.
function batchNormalize(stage: BatchNormStage, x: tf.Tensor, training: boolean): tf.Tensor {
  if (!training) {
    return tf.batchNorm(x, stage.movingMean, stage.movingVariance, stage.beta, stage.gamma, stage.epsilon);
  }
  const axes = x.shape.slice(0, -1).map((_, axis) => axis);
  const { mean, variance } = tf.moments(x, axes);
  const count = x.size / (x.shape.at(-1) ?? 1);
  const unbiased = count > 1 ? count / (count - 1) : 1;
  const { momentum } = stage;
  stage.movingMean.assign(tf.tidy(() => tf.add(tf.mul(stage.movingMean, momentum), tf.mul(mean, 1 - momentum))));
  stage.movingVariance.assign(
    tf.tidy(() => tf.add(tf.mul(stage.movingVariance, momentum), tf.mul(variance, (1 - momentum) * unbiased))),
  );
  return tf.batchNorm(x, mean, variance, stage.beta, stage.gamma, stage.epsilon);
}

function forward(stage: Stage, x: tf.Tensor, index: number, training?: { dropoutSeed: number }): tf.Tensor {
  switch (stage.kind) {
    case 'dense': {
      const y = tf.fused.matMul({
        a: x,
        b: stage.weights,
        bias: stage.bias,
        activation: fusedActivation[stage.activation],
      });
      return stage.activation === 'tanh' ? tf.tanh(y) : y;
    }
    case 'conv2d': {
      const y = tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: stage.filter,
        strides: stage.strides,
        pad: stage.padding,
        bias: stage.bias,
        activation: fusedActivation[stage.activation],
      });
      return stage.activation === 'tanh' ? tf.tanh(y) : y;
    }
    case 'maxPool2d':
      return tf.maxPool(x as tf.Tensor4D, stage.poolSize, stage.strides, stage.padding);
    case 'avgPool2d':
      return tf.avgPool(x as tf.Tensor4D, stage.poolSize, stage.strides, stage.padding);
    case 'flatten':
      return tf.reshape(x, [x.shape[0] ?? 1, stage.features]);
    case 'batchNormalization':
      return batchNormalize(stage, x, training !== undefined);
    case 'dropout': {
      if (!training || stage.rate === 0) return x;
      // Inverted dropout with a mask seeded per step and layer, so runs repeat exactly.
      const keep = tf.randomUniform(x.shape, 0, 1, 'float32', training.dropoutSeed + index);
      return tf.mul(x, tf.mul(tf.cast(tf.greaterEqual(keep, stage.rate), 'float32'), 1 / (1 - stage.rate)));
    }
  }
}

/**
 * Builds the network of `layers` on `input` (a flat feature count, or the dataset's example shape,
 * which image layers take), initialised from `seed`. The data stays flat; the model reshapes it.
 */
export function buildModel(layers: readonly LayerSpec[], input: ModelInput, seed: number): Model {
  const random = new Random(seed);
  const inputShape = modelInputShape(layers, input);
  const inputFeatures = inputShape.reduce((total, dimension) => total * dimension, 1);
  const stages = layerShapes(layers, input).map((shaped, index) =>
    buildStage(shaped.layer, shaped.input, index, random),
  );
  const variables = stages.flatMap(trainableOf);
  const state = [
    ...variables,
    ...stages.flatMap((stage) => (stage.kind === 'batchNormalization' ? [stage.movingMean, stage.movingVariance] : [])),
  ];

  return {
    inputFeatures,
    inputShape,
    variables,
    state,
    logits(inputs, training) {
      let activations: tf.Tensor = inputShape.length > 1 ? tf.reshape(inputs, [-1, ...inputShape]) : inputs;
      for (const [index, stage] of stages.entries()) activations = forward(stage, activations, index, training);
      return activations as tf.Tensor2D;
    },
    dispose() {
      for (const held of state) held.dispose();
    },
  };
}
