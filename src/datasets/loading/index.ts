import { isBundledDataset, type DatasetName } from '../../domain/datasets.js';
import { DatasetUnavailable, type Dataset } from './dataset.js';
import { loadMnist } from './mnist.js';

export { DatasetUnavailable } from './dataset.js';
export type { Dataset, DatasetSplit, Labels } from './dataset.js';
export { decodeDataset, type StoredForm } from './uploaded.js';

const loaders: Record<DatasetName, () => Promise<Dataset>> = {
  mnist: () => loadMnist(),
};

const loaded = new Map<DatasetName, Promise<Dataset>>();

/** Loads and normalises a bundled dataset once per process; later calls share the same memory. */
export function loadDataset(name: string): Promise<Dataset> {
  if (!isBundledDataset(name))
    return Promise.reject(new DatasetUnavailable(`there is no bundled dataset called "${name}"`));
  let dataset = loaded.get(name);
  if (!dataset) {
    dataset = loaders[name]();
    loaded.set(name, dataset);
    dataset.catch(() => loaded.delete(name));
  }
  return dataset;
}
