import { createHash } from 'node:crypto';
import { inputSize, isBundledDataset } from '../domain/datasets.js';
import { ByteLru } from '../inference/byte-lru.js';
import type { Logger } from '../logger.js';
import type { ArtifactStore } from '../store/artifacts/artifact-store.js';
import type { DatasetsRepository, StoredDataset } from '../store/datasets-repository.js';
import { decodeDataset, DatasetUnavailable, loadDataset, type Dataset } from '../datasets/loading/index.js';

export interface DatasetSourceDeps {
  datasets: Pick<DatasetsRepository, 'find'>;
  artifacts: Pick<ArtifactStore, 'open'>;
  /** Most bytes of decoded uploaded datasets kept in memory; the one in use is kept even if larger. */
  cacheBytes: number;
  logger: Logger;
}

/** Memory a decoded dataset takes: float32 inputs and 8- or 16-bit labels of both splits. */
function decodedBytes(stored: StoredDataset): number {
  const { info } = stored;
  const examples = info.trainSize + info.testSize;
  return examples * (inputSize(info) * Float32Array.BYTES_PER_ELEMENT + (info.numClasses > 256 ? 2 : 1));
}

/** The stored bytes of `stored`, checked against its content hash as they stream past. */
async function* verifiedContent(stream: AsyncIterable<Uint8Array>, stored: StoredDataset): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  for await (const piece of stream) {
    hash.update(piece);
    yield piece;
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== stored.sha256)
    throw new Error(`dataset ${stored.info.name}: stored bytes hash to ${sha256}, not ${stored.sha256}`);
}

/**
 * A job's dataset by name: bundled ones from datasets/loading, uploaded ones from the store, decoded
 * into shared memory once per content hash and kept in a byte-bounded cache, so a second job on the
 * same dataset (under any name) loads nothing. Every training thread of the process shares them.
 */
export function createDatasetSource({ datasets, artifacts, cacheBytes, logger }: DatasetSourceDeps) {
  const cache = new ByteLru<Promise<Dataset>>(cacheBytes);

  async function decode(stored: StoredDataset): Promise<Dataset> {
    const started = performance.now();
    const stream = await artifacts.open(stored.artifactId);
    if (!stream) throw new DatasetUnavailable(`the stored examples of dataset "${stored.info.name}" are gone`);
    const dataset = await decodeDataset(stored, verifiedContent(stream as AsyncIterable<Uint8Array>, stored));
    const ms = Math.round(performance.now() - started);
    logger.info({ dataset: stored.info.name, sha256: stored.sha256, bytes: stored.bytes, ms }, 'dataset loaded');
    return dataset;
  }

  return async function datasetOf(name: string): Promise<Dataset> {
    if (isBundledDataset(name)) return loadDataset(name);
    const stored = await datasets.find(name);
    if (!stored) throw new DatasetUnavailable(`dataset "${name}" does not exist (any more)`);
    let pending = cache.get(stored.sha256);
    if (!pending) {
      pending = decode(stored);
      cache.set(stored.sha256, pending, decodedBytes(stored));
      const key = stored.sha256;
      pending.catch(() => cache.delete(key));
    }
    const dataset = await pending;
    // The same bytes may be cached under another name: the description is this name's.
    return { ...dataset, info: stored.info };
  };
}
