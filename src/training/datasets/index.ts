import type { DatasetName } from '../../domain/datasets.js';
import type { Dataset } from './dataset.js';
import { loadMnist } from './mnist.js';

export type { Dataset, DatasetSplit } from './dataset.js';

const loaders: Record<DatasetName, () => Promise<Dataset>> = {
  mnist: () => loadMnist(),
};

const loaded = new Map<DatasetName, Promise<Dataset>>();

/** Loads and normalises a dataset once per process; later calls share the same memory. */
export function loadDataset(name: DatasetName): Promise<Dataset> {
  let dataset = loaded.get(name);
  if (!dataset) {
    dataset = loaders[name]();
    loaded.set(name, dataset);
    dataset.catch(() => loaded.delete(name));
  }
  return dataset;
}
