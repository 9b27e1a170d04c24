import { inputSize, type DatasetInfo } from './datasets.js';
import type { JobSpec } from './job-spec.js';
import { countParameters, layerSizes, trainSampleCount } from './model-shape.js';

const floatBytes = 4;
// Optimizer slots per parameter: momentum keeps velocities, adam two moments, rmsprop two accumulators.
const optimizerSlots = { sgd: 0, momentum: 1, adam: 2, rmsprop: 2 } as const;
const evaluationBatch = 1000;

/**
 * A conservative estimate of the memory one job needs while it trains: parameters, their gradients
 * and optimizer slots, activations of a batch kept for backpropagation, the test pass, the epoch's
 * shuffled copy of the inputs and a checkpoint being written.
 */
export function estimateTrainingBytes(
  spec: Pick<JobSpec, 'model' | 'batchSize' | 'optimizer' | 'trainSamples'>,
  info: DatasetInfo,
): number {
  const features = inputSize(info);
  const parameters = countParameters(spec.model.layers, features);
  const sizes = layerSizes(spec.model.layers, features);
  const units = sizes.slice(1).reduce((sum, size) => sum + size, 0);
  // A dropout layer masks the width of whatever comes before it.
  let width = features;
  let dropoutUnits = 0;
  for (const layer of spec.model.layers) {
    if (layer.type === 'dense') width = layer.units;
    else dropoutUnits += width;
  }
  const widest = Math.max(...sizes);
  const slots = optimizerSlots[spec.optimizer];
  const parameterBytes = parameters * floatBytes * (2 + slots);
  // Outputs and their gradients, plus masks and pre-activations, for every unit of every example.
  const activationBytes = spec.batchSize * (features + 3 * units + 3 * dropoutUnits) * floatBytes;
  const evaluationBytes = evaluationBatch * (features + 2 * widest) * floatBytes;
  const epochBytes = trainSampleCount(spec, info) * (features * floatBytes + 1 + info.numClasses * floatBytes);
  const checkpointBytes = parameters * floatBytes * (1 + slots) * 2;
  return parameterBytes + activationBytes + evaluationBytes + epochBytes + checkpointBytes;
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
