/**
 * What the spec, the API and training need to know of a dataset, bundled or uploaded: THE description
 * of any dataset. Loading its data is training's (bundled) or the worker's (uploaded) job.
 */
export interface DatasetInfo {
  readonly name: string;
  readonly description: string;
  /**
   * Shape of one example before it is flattened for dense layers: [height, width, channels] for
   * images (what conv2d and pooling layers take), [features] for anything else.
   */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** Names of the classes in label order, when the dataset has them. */
  readonly classNames?: readonly string[];
  readonly trainSize: number;
  readonly testSize: number;
  /** Raw feature values run from 0 to this (255 for 8-bit pixels); training divides by it first. */
  readonly maxRawValue: number;
  /** Feature statistics after scaling (pixels to [0, 1]), used to normalise inputs: (x - mean) / std. */
  readonly mean: number;
  readonly std: number;
}

/** Datasets that ship with the server; a new one is one more entry here plus a loader in datasets/loading. */
export const datasets = {
  mnist: {
    name: 'mnist',
    description: 'MNIST handwritten digits, 28x28 grey, 10 classes',
    inputShape: [28, 28, 1],
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    trainSize: 60_000,
    testSize: 10_000,
    maxRawValue: 255,
    mean: 0.1307,
    std: 0.3081,
  },
} as const satisfies Record<string, DatasetInfo>;

export type DatasetName = keyof typeof datasets;

export const datasetNames = Object.keys(datasets) as [DatasetName, ...DatasetName[]];

/** Names of uploaded datasets (bundled ones follow it too). */
export const datasetNamePattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Fewest and most classes a dataset may have. */
export const classLimits = Object.freeze({ min: 2, max: 1000 });

/**
 * The largest stored example an upload may have unless DATASET_MAX_EXAMPLE_BYTES says otherwise:
 * 16 MiB, a 4096x4096 grey image or 4 million CSV features. Examples are trained on, predicted and
 * drawn whole, so one far larger would take memory out of all proportion to its upload.
 */
export const defaultMaxExampleBytes = 16 * 1024 * 1024;

export function isBundledDataset(name: string): name is DatasetName {
  return Object.hasOwn(datasets, name);
}

/** The bundled dataset called `name`, or undefined (an uploaded one, or none). */
export function bundledDataset(name: string): DatasetInfo | undefined {
  return isBundledDataset(name) ? datasets[name] : undefined;
}

/** Number of input features once an example is flattened. */
export function inputSize(info: Pick<DatasetInfo, 'inputShape'>): number {
  return info.inputShape.reduce((product, dimension) => product * dimension, 1);
}

/** How a raw example becomes model input, (raw * scale - mean) / std: what training does to the dataset. */
export function preprocessingOf(info: DatasetInfo): { scale: number; mean: number; std: number } {
  return { scale: 1 / info.maxRawValue, mean: info.mean, std: info.std };
}
