/** What the spec and the API need to know of a dataset; loading its data is training's job. */
export interface DatasetInfo {
  readonly name: string;
  readonly description: string;
  /** Shape of one example before it is flattened for dense layers. */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly trainSize: number;
  readonly testSize: number;
  /** Raw feature values run from 0 to this (255 for 8-bit pixels); training divides by it first. */
  readonly maxRawValue: number;
  /** Pixel statistics after scaling to [0, 1], used to normalise inputs. */
  readonly mean: number;
  readonly std: number;
  /** Names of the classes in label order, for datasets whose labels are not self-explanatory. */
  readonly classNames?: readonly string[];
}

/** Every dataset a job may name; a new one is one more entry here plus a loader in training/datasets. */
export const datasets = {
  mnist: {
    name: 'mnist',
    description: 'MNIST handwritten digits, 28x28 grey, 10 classes',
    inputShape: [28, 28],
    numClasses: 10,
    trainSize: 60_000,
    testSize: 10_000,
    maxRawValue: 255,
    mean: 0.1307,
    std: 0.3081,
  },
} as const satisfies Record<string, DatasetInfo>;

export type DatasetName = keyof typeof datasets;

export const datasetNames = Object.keys(datasets) as [DatasetName, ...DatasetName[]];

export function datasetInfo(name: DatasetName): DatasetInfo {
  return datasets[name];
}

/** Number of input features once an example is flattened. */
export function inputSize(info: DatasetInfo): number {
  return info.inputShape.reduce((product, dimension) => product * dimension, 1);
}

/** How a raw example becomes model input, (raw * scale - mean) / std: what training does to the dataset. */
export function preprocessingOf(info: DatasetInfo): { scale: number; mean: number; std: number } {
  return { scale: 1 / info.maxRawValue, mean: info.mean, std: info.std };
}
