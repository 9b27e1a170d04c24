import { inputSize, type DatasetInfo } from './datasets.js';
import type { JobSpec } from './spec-schema.js';
import { layerShapes, trainSampleCount, windowPair, type LayerShape } from './model-shape.js';

const floatBytes = 4;
// Optimizer slots per parameter: momentum keeps velocities, adam two moments, rmsprop two accumulators.
const optimizerSlots = { sgd: 0, momentum: 1, adam: 2, rmsprop: 2 } as const;
const evaluationBatch = 1000;

const size = (shape: readonly number[]): number => shape.reduce((total, dimension) => total * dimension, 1);

// Values per example a layer keeps for backpropagation beyond its output: its output's gradient and
// pre-activation (dense, conv2d), a mask (dropout), normalised values and statistics (batchNormalization).
function keptPerExample(layer: LayerShape): number {
  const output = size(layer.output);
  switch (layer.layer.type) {
    case 'dense':
    case 'conv2d':
    case 'batchNormalization':
    case 'dropout':
      return 3 * output;
    case 'maxPool2d':
    case 'avgPool2d':
      return 2 * output;
    case 'flatten':
      return 0;
  }
}

// A convolution's gradients unfold its input into one row per output position (im2col): the largest
// temporary of a conv step, held by one layer at a time.
function unfoldedPerExample(layer: LayerShape): number {
  if (layer.layer.type !== 'conv2d') return 0;
  const [kernelHeight, kernelWidth] = windowPair(layer.layer.kernelSize);
  const [outHeight = 0, outWidth = 0] = layer.output;
  return outHeight * outWidth * kernelHeight * kernelWidth * (layer.input[2] ?? 1);
}

/**
 * A conservative estimate of the memory one job needs while it trains: parameters, their gradients
 * and optimizer slots, activations of a batch kept for backpropagation (and a convolution's unfolded
 * input), the test pass, the epoch's shuffled copy of the inputs and a checkpoint being written.
 */
export function estimateTrainingBytes(
  spec: Pick<JobSpec, 'model' | 'batchSize' | 'optimizer' | 'trainSamples'>,
  info: DatasetInfo,
): number {
  const features = inputSize(info);
  const layers = layerShapes(spec.model.layers, info.inputShape);
  const parameters = layers.reduce((total, layer) => total + layer.parameters, 0);
  const stateValues = layers.reduce((total, layer) => total + layer.stateValues, 0);
  const kept = layers.reduce((total, layer) => total + keptPerExample(layer), 0);
  const unfolded = Math.max(0, ...layers.map(unfoldedPerExample));
  const widest = Math.max(features, ...layers.map((layer) => size(layer.output)));
  const slots = optimizerSlots[spec.optimizer];
  const parameterBytes = (parameters * (2 + slots) + stateValues) * floatBytes;
  const activationBytes = spec.batchSize * (features + kept + 2 * unfolded) * floatBytes;
  const evaluationBytes = evaluationBatch * (features + 2 * widest + unfolded) * floatBytes;
  const epochBytes = trainSampleCount(spec, info) * (features * floatBytes + 1 + info.numClasses * floatBytes);
  const checkpointBytes = (parameters * (1 + slots) + stateValues) * floatBytes * 2;
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
