import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Evaluation } from '../../domain/evaluation.js';
import {
  EvaluationNotAvailable,
  InvalidRequest,
  JobNotFound,
  ModelNotAvailable,
  TooManyItems,
} from '../../domain/errors.js';
import type { PredictOutcome, PredictRequest, Prediction, PredictorModel } from '../../inference/predictor.js';
import { readArtifactBytes, type ArtifactStore } from '../../store/artifacts/artifact-store.js';
import type { JobsRepository } from '../../store/jobs-repository.js';
import type { ModelRecord, ModelsRepository, ModelVersion } from '../../store/models-repository.js';
import { checkId } from '../jobs/job-reads.js';
import { guardStore } from '../http/store-guard.js';

/** A stored model as the predictor sees it: its artifacts name where its files are. */
export type StoredModel = PredictorModel & Pick<ModelRecord, 'modelJsonArtifactId' | 'weightsArtifactId'>;

/** One epoch's evaluation of a job. */
export interface EvaluationRecord {
  epoch: number;
  evaluation: Evaluation;
}

/** Reads recorded evaluations: the given epoch's, or the last one's when `epoch` is left out. */
export interface EvaluationReader {
  find(jobId: string, epoch?: number): Promise<EvaluationRecord | null>;
}

/** Until the store records evaluations, there are none. */
export const noEvaluations: EvaluationReader = { find: () => Promise.resolve(null) };

export interface ModelsServiceDeps {
  jobs: Pick<JobsRepository, 'find'>;
  models: Pick<ModelsRepository, 'find'>;
  artifacts: ArtifactStore;
  /** Runs a prediction off the event loop (the inference thread pool). */
  predict: (model: StoredModel, request: PredictRequest) => Promise<PredictOutcome>;
  evaluations: EvaluationReader;
  /**
   * When set, weights kept in object storage are downloaded from a presigned URL valid this many
   * seconds (a redirect) instead of through this process.
   */
  redirectSeconds?: number;
}

/** The weights of a model, ready to stream: open them only when they are to be sent. */
export interface WeightsDownload {
  etag: string;
  bytes: number;
  open(): Promise<Readable>;
  /** A short-lived URL to send the client to instead, or null to stream them (`open`). */
  redirect(): Promise<string | null>;
}

/** An ETag names the content: a quoted hash. */
const etagOf = (sha256: string) => `"${sha256}"`;

/** Whether an If-None-Match header names `etag` (or `*`); weak and strong tags compare alike. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

/** Where a model.json served at /jobs/:id/model finds its weights: see the weights route. */
export const weightsPath = (version: ModelVersion) => `model/weights.bin?version=${version}`;

type ModelJson = { weightsManifest?: { paths: string[] }[]; userDefinedMetadata?: Record<string, unknown> };

/** The stored model.json with its weights manifest pointing at the weights route, and how to use it. */
function servedModelJson(stored: Buffer, record: ModelRecord): Buffer {
  const json = JSON.parse(stored.toString('utf8')) as ModelJson;
  const groups = json.weightsManifest ?? [];
  if (groups.flatMap((group) => group.paths).length !== 1)
    throw new Error(`model of job ${record.jobId} does not keep its weights in one file`);
  for (const group of groups) if (group.paths.length === 1) group.paths = [weightsPath(record.version)];
  json.userDefinedMetadata = {
    ...json.userDefinedMetadata,
    trainer: {
      jobId: record.jobId,
      version: record.version,
      epoch: record.epoch,
      inputShape: record.inputShape,
      preprocessing: record.preprocessing,
      classNames: record.classNames,
      testAccuracy: record.testAccuracy,
    },
  };
  return Buffer.from(JSON.stringify(json));
}

function predictError(outcome: PredictOutcome & { ok: false }): Error {
  const { code, message, issues } = outcome.error;
  return code === 'invalid_input' ? new InvalidRequest(code, message, issues) : new TooManyItems(message, issues, code);
}

function predictorModel(record: ModelRecord): StoredModel {
  return {
    // Artifacts are immutable, so their ids name the content as well as its hash would.
    key: `${record.modelJsonArtifactId}/${record.weightsArtifactId}`,
    inputShape: record.inputShape,
    preprocessing: record.preprocessing,
    classCount: record.classCount,
    classNames: record.classNames,
    modelJsonArtifactId: record.modelJsonArtifactId,
    weightsArtifactId: record.weightsArtifactId,
  };
}

/** Downloading, predicting with and evaluating the models of jobs, independent of HTTP. */
export function createModelsService(deps: ModelsServiceDeps) {
  const jobs = guardStore(deps.jobs);
  const models = guardStore(deps.models);
  const artifacts = guardStore(deps.artifacts);

  async function modelOf(id: string, version: ModelVersion): Promise<ModelRecord> {
    const jobId = checkId(id);
    // A model row exists only while its job does (cascade): the job is read only to explain a miss.
    const record = await models.find(jobId, version);
    if (record) return record;
    const job = await jobs.find(jobId);
    if (!job) throw new JobNotFound([id]);
    throw new ModelNotAvailable(jobId, version, job.status);
  }

  return {
    /** model.json of the job's model of `version`, as served, and its ETag. */
    async modelJson(id: string, version: ModelVersion): Promise<{ body: Buffer; etag: string }> {
      const record = await modelOf(id, version);
      const stored = await readArtifactBytes(artifacts, record.modelJsonArtifactId);
      if (!stored) throw new Error(`model.json artifact ${record.modelJsonArtifactId} is missing`);
      const body = servedModelJson(stored, record);
      return { body, etag: etagOf(createHash('sha256').update(body).digest('hex')) };
    },

    /** The weights of the job's model of `version`: size and ETag now, the bytes streamed on `open`. */
    async weights(id: string, version: ModelVersion): Promise<WeightsDownload> {
      const record = await modelOf(id, version);
      const info = await artifacts.stat(record.weightsArtifactId);
      if (!info) throw new Error(`weights artifact ${record.weightsArtifactId} is missing`);
      return {
        etag: etagOf(info.sha256),
        bytes: info.bytes,
        async open() {
          const stream = await artifacts.open(record.weightsArtifactId);
          if (!stream) throw new Error(`weights artifact ${record.weightsArtifactId} is missing`);
          return stream;
        },
        async redirect() {
          const seconds = deps.redirectSeconds;
          return seconds === undefined ? null : artifacts.downloadUrl(record.weightsArtifactId, seconds);
        },
      };
    },

    /** The topK classes of each input, in order; bad input is InvalidRequest, too much of it TooManyItems. */
    async predict(
      id: string,
      version: ModelVersion,
      request: PredictRequest,
    ): Promise<{ version: ModelVersion; epoch: number; predictions: Prediction[] }> {
      const record = await modelOf(id, version);
      const outcome = await deps.predict(predictorModel(record), request);
      if (!outcome.ok) throw predictError(outcome);
      return { version, epoch: record.epoch, predictions: outcome.predictions };
    },

    /** The evaluation of `epoch` (the last recorded one when left out). */
    async evaluation(id: string, epoch?: number): Promise<EvaluationRecord> {
      const jobId = checkId(id);
      const job = await jobs.find(jobId);
      if (!job) throw new JobNotFound([id]);
      const found = await deps.evaluations.find(jobId, epoch);
      if (!found) throw new EvaluationNotAvailable(jobId, epoch);
      return found;
    },
  };
}

export type ModelsService = ReturnType<typeof createModelsService>;

/** The predictor's loader: both files of a stored model, read whole from the artifact store. */
export function modelFilesLoader(store: ArtifactStore) {
  return async (model: StoredModel): Promise<{ modelJson: Buffer; weights: Buffer }> => {
    const [modelJson, weights] = await Promise.all([
      readArtifactBytes(store, model.modelJsonArtifactId),
      readArtifactBytes(store, model.weightsArtifactId),
    ]);
    if (!modelJson || !weights) throw new Error(`the artifacts of model ${model.key} are missing`);
    return { modelJson, weights };
  };
}
