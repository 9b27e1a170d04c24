import { inputSize, type DatasetInfo } from './datasets.js';
import type { JobSpec, LayerSpec } from './job-spec.js';

/** Feature counts from the input through every dense layer, e.g. [784, 512, 512, 10]. */
export function layerSizes(layers: readonly LayerSpec[], inputFeatures: number): number[] {
  const sizes = [inputFeatures];
  for (const layer of layers) if (layer.type === 'dense') sizes.push(layer.units);
  return sizes;
}

/** Trainable parameters: a weight matrix and a bias vector per dense layer. */
export function countParameters(layers: readonly LayerSpec[], inputFeatures: number): number {
  const sizes = layerSizes(layers, inputFeatures);
  let total = 0;
  for (let index = 1; index < sizes.length; index++) {
    const fanIn = sizes[index - 1] ?? 0;
    const fanOut = sizes[index] ?? 0;
    total += fanIn * fanOut + fanOut;
  }
  return total;
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
  return countParameters(spec.model.layers, inputSize(info));
}
