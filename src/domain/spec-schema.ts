// The job spec's shape and the types read from it, apart from the rules that check a spec against
// its dataset (job-spec.ts): the shape and memory modules need the types, and the checks need them.
import { z } from 'zod';
import { datasetNamePattern } from './datasets.js';
import { maxDurationSecondsLimit, retentionSpec } from './retention.js';
import {
  accelerators,
  activations,
  epochMetricNames,
  layerTypes,
  limits,
  optimizers,
  paddings,
} from './spec-vocabulary.js';
import { text } from './text.js';

/** A window size or stride: one integer for a square, or [height, width]. */
const windowSize = z.union([
  z.int().min(1).max(limits.kernelSize),
  z.tuple([z.int().min(1).max(limits.kernelSize), z.int().min(1).max(limits.kernelSize)]),
]);

const denseLayer = z.strictObject({
  type: z.literal('dense'),
  units: z.int().min(1).max(limits.units),
  activation: z.enum(activations).default('linear'),
});

const dropoutLayer = z.strictObject({
  type: z.literal('dropout'),
  rate: z.number().min(0).lt(1, 'must be at least 0 and less than 1'),
});

const conv2dLayer = z.strictObject({
  type: z.literal('conv2d'),
  filters: z.int().min(1).max(limits.filters),
  kernelSize: windowSize,
  strides: windowSize.default(1),
  padding: z.enum(paddings).default('valid'),
  activation: z.enum(activations).default('linear'),
});

// Strides default to the pool size (non-overlapping windows), filled in when the shapes are walked.
const poolFields = {
  poolSize: windowSize,
  strides: windowSize.optional(),
  padding: z.enum(paddings).default('valid'),
};
const maxPoolLayer = z.strictObject({ type: z.literal('maxPool2d'), ...poolFields });
const avgPoolLayer = z.strictObject({ type: z.literal('avgPool2d'), ...poolFields });

const flattenLayer = z.strictObject({ type: z.literal('flatten') });

// Keras's convention: momentum weighs the old moving statistics (PyTorch's momentum 0.1 is 0.9 here);
// the defaults are PyTorch's.
const batchNormalizationLayer = z.strictObject({
  type: z.literal('batchNormalization'),
  momentum: z.number().min(0).lt(1, 'must be at least 0 and less than 1').default(0.9),
  epsilon: z.number().gt(0).max(1).default(1e-5),
});

const layer = z.discriminatedUnion(
  'type',
  [denseLayer, dropoutLayer, conv2dLayer, maxPoolLayer, avgPoolLayer, flattenLayer, batchNormalizationLayer],
  {
    error: (issue) =>
      issue.code === 'invalid_union' ? `type must be one of ${layerTypes.map((t) => `"${t}"`).join(', ')}` : undefined,
  },
);

export const baseSpec = z.strictObject({
  name: text().trim().min(1).max(limits.nameLength).optional(),
  tags: z
    .array(text().trim().min(1).max(limits.tagLength))
    .max(limits.tags)
    .refine((tags) => new Set(tags).size === tags.length, 'tags must be unique')
    .optional(),
  dataset: z
    .string()
    .regex(datasetNamePattern, 'must be a dataset name: lowercase letters, digits and "-", at most 63')
    .default('mnist'),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  trainSamples: z.int().min(1).optional(),
  testSamples: z.int().min(1).optional(),
  model: z.strictObject({
    layers: z.array(layer).min(1).max(limits.layers),
  }),
  epochs: z.int().min(1).max(limits.epochs),
  learningRate: z.number().gt(0).max(limits.learningRate),
  batchSize: z.int().min(1).max(limits.batchSize),
  optimizer: z.enum(optimizers).default('sgd'),
  validationSamples: z.int().min(1).optional(),
  validationFraction: z.number().gt(0).lt(1).optional(),
  earlyStopping: z
    .strictObject({
      metric: z.enum(epochMetricNames),
      mode: z.enum(['min', 'max']),
      patience: z.int().min(1).max(limits.epochs),
      minDelta: z.number().min(0).default(0),
    })
    .optional(),
  // The longest a run may train, from its first start across attempts: past it, it ends as failed,
  // keeping its history, models and checkpoints. The server's MAX_TRAINING_MS bounds it too.
  maxDurationSeconds: z.int().min(1).max(maxDurationSecondsLimit).optional(),
  // How long the run is kept after it ends, over its sweep's, its owner's and the server's default.
  retention: retentionSpec.optional(),
  // "gpu" sends the job to the queue only GPU workers take. Submitting one is refused while no GPU
  // worker is registered, unless waitForAccelerator says it may wait in that queue for one.
  accelerator: z.enum(accelerators).optional(),
  waitForAccelerator: z.boolean().optional(),
});

/** The spec's shape alone, without the rules that need its dataset: how stored specs are shown. */
export const jobSpecShape = baseSpec;

export type JobSpec = z.output<typeof baseSpec>;
export type JobSpecInput = z.input<typeof baseSpec>;
export type LayerSpec = JobSpec['model']['layers'][number];
export type DenseLayerSpec = Extract<LayerSpec, { type: 'dense' }>;
export type Conv2dLayerSpec = Extract<LayerSpec, { type: 'conv2d' }>;
export type PoolLayerSpec = Extract<LayerSpec, { type: 'maxPool2d' | 'avgPool2d' }>;
export type BatchNormalizationLayerSpec = Extract<LayerSpec, { type: 'batchNormalization' }>;
export type WindowSize = Conv2dLayerSpec['kernelSize'];
export type Padding = (typeof paddings)[number];
export type Activation = (typeof activations)[number];
export type OptimizerName = (typeof optimizers)[number];
