// The words and limits of a job spec, with no schema library: the spec's schema (job-spec.ts) is
// built from them, and the dashboard's form offers them.

export const activations = ['relu', 'sigmoid', 'tanh', 'linear'] as const;
export const optimizers = ['sgd', 'momentum', 'adam', 'rmsprop'] as const;
/** What a job may ask to train on: any worker (cpu, the default) or a GPU worker's queue. */
export const accelerators = ['cpu', 'gpu'] as const;
export type Accelerator = (typeof accelerators)[number];
/** Per-epoch metrics a job records, which early stopping (and a sweep's objective) may watch. */
export const epochMetricNames = [
  'testAccuracy',
  'testLoss',
  'trainLoss',
  'validationAccuracy',
  'validationLoss',
] as const;
export type EpochMetricName = (typeof epochMetricNames)[number];

export const limits = Object.freeze({
  nameLength: 200,
  tags: 20,
  tagLength: 50,
  layers: 32,
  units: 8192,
  epochs: 100,
  learningRate: 10,
  batchSize: 4096,
  filters: 1024,
  kernelSize: 15,
});

export const paddings = ['valid', 'same'] as const;

export const layerTypes = [
  'dense',
  'dropout',
  'conv2d',
  'maxPool2d',
  'avgPool2d',
  'flatten',
  'batchNormalization',
] as const;
