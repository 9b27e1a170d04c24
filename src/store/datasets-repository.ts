import type { DatasetInfo } from '../domain/datasets.js';
import { featureTypes, type FeatureType } from '../domain/dataset-layout.js';
import type { PrismaClient } from './database.js';
import { Prisma, type Dataset as DatasetRow } from './generated/client.js';

/** An uploaded dataset as the store keeps it: its DatasetInfo plus where and how its examples are stored. */
export interface StoredDataset {
  info: DatasetInfo;
  /** What was uploaded: `idx` or `csv`. */
  format: string;
  trainClassCounts: number[];
  testClassCounts: number[];
  featureType: FeatureType;
  /** Stored value * scale is the feature `info.mean` and `info.std` describe. */
  scale: number;
  featureMin: number;
  featureMax: number;
  artifactId: string;
  sha256: string;
  /** Bytes of the stored form. */
  bytes: number;
  /** Bytes the client sent. */
  uploadBytes: number;
  /** The owner of the key that uploaded it ("local" with AUTH=off). */
  owner: string;
  createdAt: Date;
}

export type NewDataset = Omit<StoredDataset, 'createdAt'>;

export type DatasetDeletion =
  { outcome: 'deleted'; artifactId: string } | { outcome: 'missing' } | { outcome: 'in-use'; jobIds: string[] };

function parseClassNames(value: unknown): string[] | undefined {
  const names: unknown[] | undefined = Array.isArray(value) ? value : undefined;
  return names?.every((name): name is string => typeof name === 'string') ? names : undefined;
}

function parseFeatureType(value: string): FeatureType {
  const found = featureTypes.find((type) => type === value);
  if (!found) throw new Error(`dataset row has an unknown feature type ${value}`);
  return found;
}

function toStored(row: DatasetRow): StoredDataset {
  const classNames = parseClassNames(row.classNames);
  return {
    info: {
      name: row.name,
      description: row.description,
      inputShape: row.inputShape,
      numClasses: row.classCount,
      ...(classNames ? { classNames } : {}),
      trainSize: row.trainSize,
      testSize: row.testSize,
      maxRawValue: 1 / row.scale,
      mean: row.mean,
      std: row.std,
    },
    format: row.format,
    trainClassCounts: row.trainClassCounts,
    testClassCounts: row.testClassCounts,
    featureType: parseFeatureType(row.featureType),
    scale: row.scale,
    featureMin: row.featureMin,
    featureMax: row.featureMax,
    artifactId: row.artifactId,
    sha256: row.sha256,
    bytes: Number(row.bytes),
    uploadBytes: Number(row.uploadBytes),
    owner: row.owner,
    createdAt: row.createdAt,
  };
}

function toRow(dataset: NewDataset): Prisma.DatasetCreateInput {
  const { info } = dataset;
  return {
    name: info.name,
    description: info.description,
    format: dataset.format,
    inputShape: [...info.inputShape],
    classCount: info.numClasses,
    classNames: info.classNames ? [...info.classNames] : Prisma.DbNull,
    trainSize: info.trainSize,
    testSize: info.testSize,
    trainClassCounts: dataset.trainClassCounts,
    testClassCounts: dataset.testClassCounts,
    featureType: dataset.featureType,
    scale: dataset.scale,
    mean: info.mean,
    std: info.std,
    featureMin: dataset.featureMin,
    featureMax: dataset.featureMax,
    artifactId: dataset.artifactId,
    sha256: dataset.sha256,
    bytes: BigInt(dataset.bytes),
    uploadBytes: BigInt(dataset.uploadBytes),
    owner: dataset.owner,
  };
}

/** `where` for one owner's rows, or every owner's when `owner` is undefined. */
const ofOwner = (owner: string | undefined) => (owner === undefined ? {} : { owner });

/**
 * Uploaded datasets by name (names are unique across owners). With `owner`, reads and deletes see
 * only that owner's datasets: another owner's is as missing. Deleting a row deletes its Postgres-stored artifact (a trigger does it). */
export function createDatasetsRepository(prisma: PrismaClient) {
  return {
    /** Stores a dataset whose artifact is already stored; null when the name is taken. */
    async create(dataset: NewDataset): Promise<StoredDataset | null> {
      try {
        return toStored(await prisma.dataset.create({ data: toRow(dataset) }));
      } catch (error) {
        if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return null;
        throw error;
      }
    },

    async find(name: string, owner?: string): Promise<StoredDataset | null> {
      const row = await prisma.dataset.findUnique({ where: { name, ...ofOwner(owner) } });
      return row ? toStored(row) : null;
    },

    async exists(name: string): Promise<boolean> {
      return (await prisma.dataset.count({ where: { name } })) > 0;
    },

    /** Every uploaded dataset (with `owner`, that owner's), by name. */
    async list(owner?: string): Promise<StoredDataset[]> {
      return (await prisma.dataset.findMany({ where: ofOwner(owner), orderBy: { name: 'asc' } })).map(toStored);
    },

    /** Stored bytes of all datasets together, or of one owner's. */
    async totalBytes(owner?: string): Promise<number> {
      const sum = await prisma.dataset.aggregate({ where: ofOwner(owner), _sum: { bytes: true } });
      return Number(sum._sum.bytes ?? 0n);
    },

    /** Deletes `name` (with `owner`, only that owner's) unless queued or running jobs use it, in one transaction. */
    async delete(name: string, owner?: string): Promise<DatasetDeletion> {
      return prisma.$transaction(async (transaction) => {
        const row = await transaction.dataset.findUnique({
          where: { name, ...ofOwner(owner) },
          select: { artifactId: true },
        });
        if (!row) return { outcome: 'missing' } as const;
        const users = await transaction.job.findMany({
          where: { dataset: name, status: { in: ['queued', 'running'] } },
          select: { id: true },
          orderBy: { createdAt: 'asc' },
          take: 20,
        });
        if (users.length > 0) return { outcome: 'in-use', jobIds: users.map((job) => job.id) } as const;
        await transaction.dataset.delete({ where: { name } });
        return { outcome: 'deleted', artifactId: row.artifactId } as const;
      });
    },
  };
}

export type DatasetsRepository = ReturnType<typeof createDatasetsRepository>;
