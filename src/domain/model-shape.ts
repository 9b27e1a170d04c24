import type { DatasetInfo } from './datasets.js';
import type { JobSpec, LayerSpec, Padding, WindowSize } from './spec-schema.js';

/** The shape of one example: [features] when flat, [height, width, channels] for an image. */
export type Shape = readonly number[];

/** A model's input: a flat feature count, or the dataset's example shape ([h, w] or [h, w, c]). */
export type ModelInput = number | Shape;

/** One layer with the shape it takes and gives, and the numbers it holds. */
export interface LayerShape {
  readonly layer: LayerSpec;
  readonly input: Shape;
  readonly output: Shape;
  /** Trainable parameters. */
  readonly parameters: number;
  /** Values it keeps that are not trained (batch normalisation's moving statistics). */
  readonly stateValues: number;
}

export type ShapeWalk =
  { ok: true; input: Shape; layers: LayerShape[] } | { ok: false; index: number; message: string };

const imageLayers = new Set<LayerSpec['type']>(['conv2d', 'maxPool2d', 'avgPool2d']);
const product = (shape: Shape): number => shape.reduce((total, dimension) => total * dimension, 1);

export function isImageLayer(layer: LayerSpec): boolean {
  return imageLayers.has(layer.type);
}

/** [height, width] of a window size or stride given as one integer or a pair. */
export function windowPair(size: WindowSize): [number, number] {
  return typeof size === 'number' ? [size, size] : [size[0], size[1]];
}

/** `3` for a square window, `3x5` otherwise. */
export function formatWindow(size: WindowSize): string {
  const [height, width] = windowPair(size);
  return height === width ? String(height) : `${height}x${width}`;
}

export function formatShape(shape: Shape): string {
  return shape.length === 1 ? `${shape[0]} features` : shape.join('x');
}

/**
 * The shape the network takes: the dataset's image shape (channels last, 1 when it has none) when
 * its first layer that changes shapes is an image layer, otherwise the flattened features.
 */
export function modelInputShape(layers: readonly LayerSpec[], input: ModelInput): Shape {
  const shape = typeof input === 'number' ? [input] : input;
  const first = layers.find((layer) => layer.type !== 'dropout' && layer.type !== 'batchNormalization');
  if (first !== undefined && isImageLayer(first) && (shape.length === 2 || shape.length === 3)) {
    return shape.length === 2 ? [...shape, 1] : [...shape];
  }
  return [product(shape)];
}

/** Output height or width of a window sliding over `size` cells, or undefined when it does not fit. */
function slide(size: number, window: number, stride: number, padding: Padding): number | undefined {
  if (padding === 'same') return Math.ceil(size / stride);
  return size < window ? undefined : Math.floor((size - window) / stride) + 1;
}

type Step = { output: Shape; parameters: number; stateValues: number } | { error: string };

function windowStep(input: Shape, name: string, size: WindowSize, strides: WindowSize, padding: Padding): Step {
  const [height = 0, width = 0] = input;
  const [windowHeight, windowWidth] = windowPair(size);
  const [strideHeight, strideWidth] = windowPair(strides);
  const outHeight = slide(height, windowHeight, strideHeight, padding);
  const outWidth = slide(width, windowWidth, strideWidth, padding);
  if (outHeight === undefined || outWidth === undefined) {
    return { error: `${name} ${formatWindow(size)} does not fit a ${height}x${width} input` };
  }
  return { output: [outHeight, outWidth, input[2] ?? 1], parameters: 0, stateValues: 0 };
}

function layerStep(layer: LayerSpec, input: Shape): Step {
  const flat = input.length === 1;
  if (isImageLayer(layer) && flat) {
    return {
      error: `${layer.type} needs an image input (height x width x channels) but gets ${formatShape(input)}: image layers come before flatten and dense layers, on a dataset of images`,
    };
  }
  switch (layer.type) {
    case 'dense':
      if (!flat)
        return { error: `dense needs a flat input but gets ${formatShape(input)}: add a flatten layer before it` };
      return { output: [layer.units], parameters: (product(input) + 1) * layer.units, stateValues: 0 };
    case 'conv2d': {
      const step = windowStep(input, 'kernelSize', layer.kernelSize, layer.strides, layer.padding);
      if ('error' in step) return step;
      const [kernelHeight, kernelWidth] = windowPair(layer.kernelSize);
      const fanIn = kernelHeight * kernelWidth * (input[2] ?? 1);
      const [outHeight = 0, outWidth = 0] = step.output;
      return { output: [outHeight, outWidth, layer.filters], parameters: (fanIn + 1) * layer.filters, stateValues: 0 };
    }
    case 'maxPool2d':
    case 'avgPool2d':
      return windowStep(input, 'poolSize', layer.poolSize, layer.strides ?? layer.poolSize, layer.padding);
    case 'flatten':
      return { output: [product(input)], parameters: 0, stateValues: 0 };
    case 'batchNormalization': {
      const channels = input.at(-1) ?? 1;
      return { output: input, parameters: 2 * channels, stateValues: 2 * channels };
    }
    case 'dropout':
      return { output: input, parameters: 0, stateValues: 0 };
  }
}

/** Walks the example shape through `layers`, or names the first layer that does not fit and why. */
export function walkShapes(layers: readonly LayerSpec[], input: ModelInput): ShapeWalk {
  const start = modelInputShape(layers, input);
  const walked: LayerShape[] = [];
  let shape = start;
  for (const [index, layer] of layers.entries()) {
    const step = layerStep(layer, shape);
    if ('error' in step) return { ok: false, index, message: step.error };
    walked.push({ layer, input: shape, ...step });
    shape = step.output;
  }
  return { ok: true, input: start, layers: walked };
}

function walkedLayers(layers: readonly LayerSpec[], input: ModelInput): ShapeWalk & { ok: true } {
  const walked = walkShapes(layers, input);
  if (!walked.ok) throw new Error(`model.layers.${walked.index}: ${walked.message}`);
  return walked;
}

/** Feature counts from the input through every dense layer, e.g. [784, 512, 512, 10]. */
export function layerSizes(layers: readonly LayerSpec[], inputFeatures: number): number[] {
  const sizes = [inputFeatures];
  for (const layer of layers) if (layer.type === 'dense') sizes.push(layer.units);
  return sizes;
}

/** Trainable parameters of every layer; the layers must fit their input (see `walkShapes`). */
export function countParameters(layers: readonly LayerSpec[], input: ModelInput): number {
  return walkedLayers(layers, input).layers.reduce((total, layer) => total + layer.parameters, 0);
}

/** Every layer's shapes and sizes; throws when a layer does not fit (specs are validated before). */
export function layerShapes(layers: readonly LayerSpec[], input: ModelInput): LayerShape[] {
  return walkedLayers(layers, input).layers;
}

/** Training examples a job draws from, before its validation split is held out. `info` is the dataset the spec names (see DatasetInfo). */
export function trainPoolCount(spec: Pick<JobSpec, 'trainSamples'>, info: DatasetInfo): number {
  return spec.trainSamples ?? info.trainSize;
}

/** Examples held out of the training pool for validation (0 without a validation split). */
export function validationSampleCount(
  spec: Pick<JobSpec, 'trainSamples' | 'validationSamples' | 'validationFraction'>,
  info: DatasetInfo,
): number {
  const pool = trainPoolCount(spec, info);
  if (spec.validationSamples !== undefined) return Math.min(spec.validationSamples, pool - 1);
  if (spec.validationFraction !== undefined)
    return Math.min(Math.max(1, Math.round(pool * spec.validationFraction)), pool - 1);
  return 0;
}

/** Examples trained on each epoch: the pool less the validation split. */
export function trainSampleCount(
  spec: Pick<JobSpec, 'trainSamples' | 'validationSamples' | 'validationFraction'>,
  info: DatasetInfo,
): number {
  return trainPoolCount(spec, info) - validationSampleCount(spec, info);
}

export function testSampleCount(spec: Pick<JobSpec, 'testSamples'>, info: DatasetInfo): number {
  return spec.testSamples ?? info.testSize;
}

export function stepsPerEpoch(
  spec: Pick<JobSpec, 'trainSamples' | 'validationSamples' | 'validationFraction' | 'batchSize'>,
  info: DatasetInfo,
): number {
  return Math.ceil(trainSampleCount(spec, info) / spec.batchSize);
}

export function totalSteps(spec: JobSpec, info: DatasetInfo): number {
  return stepsPerEpoch(spec, info) * spec.epochs;
}

export function specParameterCount(spec: JobSpec, info: DatasetInfo): number {
  return countParameters(spec.model.layers, info.inputShape);
}
