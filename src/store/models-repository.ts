import type { PrismaClient } from './database.js';
import { Prisma, type TrainedModel } from './generated/client.js';
import type { ModelVersion as StoredModelVersion } from './generated/enums.js';
import { modelVersions, type ModelVersion, type SameUnion } from '../domain/run-vocabulary.js';

export { modelVersions, type ModelVersion };

// Fails to compile when the database's model versions and the domain's differ, either way.
const _sameVersions: SameUnion<StoredModelVersion, ModelVersion> = true;

/** How raw input values become model input: (raw * scale - mean) / std. */
export interface Preprocessing {
  scale: number;
  mean: number;
  std: number;
}

/** A stored model of a job and everything needed to use it on raw input. */
export interface ModelRecord {
  jobId: string;
  version: ModelVersion;
  epoch: number;
  modelJsonArtifactId: string;
  weightsArtifactId: string;
  tfjsVersion: string;
  /** Shape of one raw example, e.g. [28, 28, 1]; the model takes it flattened. */
  inputShape: number[];
  preprocessing: Preprocessing;
  classCount: number;
  classNames: string[] | null;
  testAccuracy: number | null;
  createdAt: Date;
}

export type NewModelRecord = Omit<ModelRecord, 'createdAt'>;

function parseClassNames(value: unknown): string[] | null {
  const names: unknown[] | null = Array.isArray(value) ? value : null;
  return names?.every((name): name is string => typeof name === 'string') ? names : null;
}

/** A row as a record: the columns as they are, but preprocessing grouped and class names checked (`save` in reverse). */
function toRecord(row: TrainedModel): ModelRecord {
  const { scale, mean, std, classNames, ...columns } = row;
  return { ...columns, preprocessing: { scale, mean, std }, classNames: parseClassNames(classNames) };
}

/**
 * The models of jobs, one per (job, version). Replacing or deleting a row releases the Postgres-stored
 * artifacts no row refers to any more (a trigger does it, so the cascade from a deleted job does too).
 */
export function createModelsRepository(prisma: PrismaClient) {
  return {
    /** Stores the job's model of `record.version`, replacing the one it had. */
    async save(record: NewModelRecord): Promise<ModelRecord> {
      const { preprocessing, classNames, ...fields } = record;
      const data = { ...fields, ...preprocessing, classNames: classNames ?? Prisma.DbNull };
      const row = await prisma.trainedModel.upsert({
        where: { jobId_version: { jobId: record.jobId, version: record.version } },
        create: data,
        update: { ...data, createdAt: new Date() },
      });
      return toRecord(row);
    },

    async find(jobId: string, version: ModelVersion): Promise<ModelRecord | null> {
      const row = await prisma.trainedModel.findUnique({ where: { jobId_version: { jobId, version } } });
      return row ? toRecord(row) : null;
    },

    /** The job's models, final first. */
    async listByJob(jobId: string): Promise<ModelRecord[]> {
      const rows = await prisma.trainedModel.findMany({ where: { jobId }, orderBy: { version: 'asc' } });
      return rows.map(toRecord);
    },

    /** Deletes the job's models (and so their artifacts); returns how many there were. */
    async deleteForJob(jobId: string): Promise<number> {
      const deleted = await prisma.trainedModel.deleteMany({ where: { jobId } });
      return deleted.count;
    },
  };
}

export type ModelsRepository = ReturnType<typeof createModelsRepository>;
