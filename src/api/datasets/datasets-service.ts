import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyRequest } from 'fastify';
import { visibleOwner, type Viewer } from '../../domain/access.js';
import {
  bundledDataset,
  datasets as bundled,
  datasetNamePattern,
  defaultMaxExampleBytes,
  inputSize,
  isBundledDataset,
  type DatasetInfo,
} from '../../domain/datasets.js';
import {
  BundledDatasetReadOnly,
  DatasetInUse,
  DatasetNameTaken,
  DatasetNotFound,
  DatasetTooLarge,
  InvalidRequest,
} from '../../domain/errors.js';
import type { DatasetSplit, FoundExample } from '../../datasets/examples/examples.js';
import { bytesPerFeature } from '../../domain/dataset-layout.js';
import { readStoredExample } from '../../datasets/examples/stored-examples.js';
import type { Logger } from '../../logger.js';
import type { ArtifactStore } from '../../store/artifacts/artifact-store.js';
import type { DatasetsRepository, StoredDataset } from '../../store/datasets-repository.js';
import { buildDataset, type BuiltDataset } from '../../datasets/ingestion/dataset-builder.js';
import { receiveUpload } from './upload-form.js';
import { uploadSettings } from '../../datasets/ingestion/upload-settings.js';
import type { DatasetSummary, DatasetView } from './dataset-schemas.js';
import { guardStore } from '../http/store-guard.js';

export interface DatasetLimits {
  maxUploadBytes: number;
  maxExamples: number;
  maxTotalBytes: number;
  /** Stored bytes of one owner's datasets together (DATASET_OWNER_MAX_BYTES); absent or 0: no such limit. */
  maxOwnerBytes?: number;
  /** Stored bytes of one example (DATASET_MAX_EXAMPLE_BYTES); absent: its default. */
  maxExampleBytes?: number;
}

export interface DatasetsServiceDeps {
  datasets: DatasetsRepository;
  artifacts: ArtifactStore;
  limits: DatasetLimits;
  /** Where uploads are unpacked while they are validated; emptied after each. */
  tmpDir: string;
  logger: Logger;
}

function bundledView(info: DatasetInfo): DatasetView {
  return {
    ...summaryOf(info, null),
    format: 'bundled',
    classes: Array.from({ length: info.numClasses }, (_, label) => ({
      label,
      name: info.classNames?.[label] ?? null,
      trainCount: null,
      testCount: null,
    })),
    statistics: { scale: 1 / 255, mean: info.mean, std: info.std, min: null, max: null },
    sha256: null,
    uploadBytes: null,
  };
}

function summaryOf(info: DatasetInfo, stored: StoredDataset | null): DatasetSummary {
  return {
    name: info.name,
    description: info.description,
    bundled: stored === null,
    inputShape: [...info.inputShape],
    numClasses: info.numClasses,
    trainSize: info.trainSize,
    testSize: info.testSize,
    bytes: stored?.bytes ?? null,
    createdAt: stored?.createdAt.toISOString() ?? null,
  };
}

/** The public JSON shape of an uploaded dataset. */
export function datasetView(stored: StoredDataset): DatasetView {
  const { info } = stored;
  return {
    ...summaryOf(info, stored),
    format: stored.format === 'csv' ? 'csv' : 'idx',
    classes: Array.from({ length: info.numClasses }, (_, label) => ({
      label,
      name: info.classNames?.[label] ?? null,
      trainCount: stored.trainClassCounts[label] ?? 0,
      testCount: stored.testClassCounts[label] ?? 0,
    })),
    statistics: { scale: stored.scale, mean: info.mean, std: info.std, min: stored.featureMin, max: stored.featureMax },
    sha256: stored.sha256,
    uploadBytes: stored.uploadBytes,
  };
}

/** Throws DatasetTooLarge when `built` does not fit in all datasets' storage, or in its owner's. */
async function checkStorage(deps: DatasetsServiceDeps, built: BuiltDataset, owner: string): Promise<void> {
  const { datasets, limits } = deps;
  const used = await datasets.totalBytes();
  if (used + built.bytes > limits.maxTotalBytes) {
    throw new DatasetTooLarge(
      'storage',
      `the dataset takes ${built.bytes} bytes stored; datasets already take ${used} of the ${limits.maxTotalBytes} bytes allowed (DATASET_MAX_TOTAL_BYTES)`,
    );
  }
  const ownerMax = limits.maxOwnerBytes ?? 0;
  if (ownerMax <= 0) return;
  const ownerUsed = await datasets.totalBytes(owner);
  if (ownerUsed + built.bytes > ownerMax) {
    throw new DatasetTooLarge(
      'owner',
      `the dataset takes ${built.bytes} bytes stored; the datasets of owner ${owner} already take ${ownerUsed} of the ${ownerMax} bytes allowed per owner (DATASET_OWNER_MAX_BYTES)`,
    );
  }
}

/** Stores the built dataset: its bytes first, then its row; the bytes go again if the row cannot be written. */
async function store(
  deps: DatasetsServiceDeps,
  built: BuiltDataset,
  uploadBytes: number,
  owner: string,
): Promise<StoredDataset> {
  const { datasets, artifacts, logger } = deps;
  await checkStorage(deps, built, owner);
  const artifact = await artifacts.put(built.content());
  try {
    const created = await datasets.create({
      info: built.info,
      format: built.format,
      trainClassCounts: built.trainClassCounts,
      testClassCounts: built.testClassCounts,
      featureType: built.featureType,
      scale: built.scale,
      featureMin: built.statistics.min,
      featureMax: built.statistics.max,
      artifactId: artifact.id,
      sha256: artifact.sha256,
      bytes: artifact.bytes,
      uploadBytes,
      owner,
    });
    if (!created) throw new DatasetNameTaken(built.info.name);
    return created;
  } catch (error) {
    await deps.artifacts
      .delete([artifact.id])
      .catch((cleanup: unknown) =>
        logger.warn({ err: cleanup, artifactId: artifact.id }, 'could not delete the artifact of a failed upload'),
      );
    throw error;
  }
}

/** Receives, validates and stores an upload; nothing of it remains when it fails. */
async function receiveAndStore(
  request: FastifyRequest,
  owner: string,
  deps: DatasetsServiceDeps,
  taken: (name: string) => Promise<boolean>,
): Promise<StoredDataset> {
  const { limits, logger } = deps;
  const directory = await mkdtemp(path.join(deps.tmpDir, 'trainer-upload-'));
  try {
    const started = performance.now();
    const received = await receiveUpload(request, directory, limits.maxUploadBytes);
    const receivedAt = performance.now();
    const settings = uploadSettings(received);
    if (await taken(settings.name)) throw new DatasetNameTaken(settings.name);
    const built = await buildDataset(received, settings, directory, {
      maxExamples: limits.maxExamples,
      maxStoredBytes: limits.maxTotalBytes,
      maxExampleBytes: limits.maxExampleBytes ?? defaultMaxExampleBytes,
    });
    const builtAt = performance.now();
    const stored = await store(deps, built, received.bytes, owner);
    const ms = (from: number, to = performance.now()) => Math.round(to - from);
    const phases = {
      receiveMs: ms(started, receivedAt),
      validateMs: ms(receivedAt, builtAt),
      storeMs: ms(builtAt),
    };
    logger.info(
      { dataset: settings.name, owner, uploadBytes: received.bytes, bytes: stored.bytes, ...phases },
      'dataset uploaded',
    );
    return stored;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Uploading, listing, reading and deleting datasets, independent of HTTP status codes: it throws
 * domain errors. Every operation acts for a `Viewer`: bundled datasets are everyone's; an uploaded
 * one is its owner's (an admin sees all), and another owner's is DatasetNotFound, like a missing one.
 */
export function createDatasetsService(deps: DatasetsServiceDeps) {
  const datasets = guardStore(deps.datasets);
  const artifacts = guardStore(deps.artifacts);
  const { logger } = deps;

  async function taken(name: string): Promise<boolean> {
    return isBundledDataset(name) || (await datasets.exists(name));
  }

  return {
    /** Receives, validates and stores an upload owned by `viewer.owner`; nothing of it remains when it fails. */
    upload: (viewer: Viewer, request: FastifyRequest) =>
      receiveAndStore(request, viewer.owner, { ...deps, datasets, artifacts }, taken),

    /** The bundled datasets and the uploaded ones `viewer` sees; an admin may ask for one owner's (`owner`). */
    async list(viewer: Viewer, owner?: string): Promise<DatasetSummary[]> {
      const uploaded = await datasets.list(visibleOwner(viewer) ?? owner);
      return [
        ...Object.values(bundled).map((info) => summaryOf(info, null)),
        ...uploaded.map((stored) => summaryOf(stored.info, stored)),
      ];
    },

    async get(viewer: Viewer, name: string): Promise<DatasetView> {
      const info = bundledDataset(name);
      if (info) return bundledView(info);
      const stored = await datasets.find(name, visibleOwner(viewer));
      if (!stored) throw new DatasetNotFound(name);
      return datasetView(stored);
    },

    /**
     * Example `index` of a split of an uploaded dataset `viewer` sees, read from its stored form;
     * DatasetNotFound for another owner's, as for a missing one.
     */
    async example(viewer: Viewer, name: string, split: DatasetSplit, index: number): Promise<FoundExample> {
      const stored = await datasets.find(name, visibleOwner(viewer));
      if (!stored) throw new DatasetNotFound(name);
      const { info } = stored;
      // Only datasets from before the limit (or under a higher one) have larger examples; none is read whole.
      const exampleBytes = inputSize(info) * bytesPerFeature[stored.featureType];
      const maxExampleBytes = deps.limits.maxExampleBytes ?? defaultMaxExampleBytes;
      if (exampleBytes > maxExampleBytes) {
        throw InvalidRequest.of('params', [
          {
            path: 'index',
            message: `examples of ${name} are ${exampleBytes} bytes; examples above ${maxExampleBytes} bytes (DATASET_MAX_EXAMPLE_BYTES) are not shown`,
          },
        ]);
      }
      return readStoredExample(
        { ...stored, inputShape: info.inputShape, trainSize: info.trainSize, testSize: info.testSize },
        split,
        index,
        (artifactId, range) => artifacts.read(artifactId, range),
      );
    },

    /** Deletes an uploaded dataset no queued or running job uses; finished jobs keep their records. */
    async delete(viewer: Viewer, name: string): Promise<void> {
      if (isBundledDataset(name)) throw new BundledDatasetReadOnly(name);
      const deletion = await datasets.delete(name, visibleOwner(viewer));
      if (deletion.outcome === 'missing') throw new DatasetNotFound(name);
      if (deletion.outcome === 'in-use') throw new DatasetInUse(name, deletion.jobIds);
      // The Postgres store lost the bytes with the row (a trigger); another store needs telling.
      await artifacts.delete([deletion.artifactId]);
      logger.info({ dataset: name }, 'dataset deleted');
    },

    /**
     * The description of a dataset by name that jobs of `owner` may use: a bundled one or one of that
     * owner's uploads (whoever submits, an admin too). What POST /jobs checks a spec against.
     */
    async find(name: string, owner: string): Promise<DatasetInfo | undefined> {
      if (!datasetNamePattern.test(name)) return undefined;
      return bundledDataset(name) ?? (await datasets.find(name, owner))?.info;
    },
  };
}

export type DatasetsService = ReturnType<typeof createDatasetsService>;
