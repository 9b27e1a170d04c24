/** What the spec and the API need to know of a dataset; loading its data is training's job. */
export interface DatasetInfo {
  readonly name: string;
  readonly description: string;
  /**
   * Shape of one example before it is flattened for dense layers: [height, width, channels] for
   * images (what conv2d and pooling layers take), [features] for anything else.
   */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  readonly trainSize: number;
  readonly testSize: number;
  /** Pixel statistics after scaling to [0, 1], used to normalise inputs. */
  readonly mean: number;
  readonly std: number;
}

/** Every dataset a job may name; a new one is one more entry here plus a loader in training/datasets. */
export const datasets = {
  mnist: {
    name: 'mnist',
    description: 'MNIST handwritten digits, 28x28 grey, 10 classes',
    inputShape: [28, 28, 1],
    numClasses: 10,
    trainSize: 60_000,
    testSize: 10_000,
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
