import type { Logger } from '../logger.js';
import type { ArtifactStore } from '../store/artifacts/artifact-store.js';
import type { JobsRepository } from '../store/jobs-repository.js';
import type { ModelStore } from './model-keeper.js';
import { retrying } from './retry.js';

/** Where runs keep a checkpoint per finished epoch, and where forks find the one they start from. */
export interface CheckpointStore extends Pick<
  JobsRepository,
  'keepCheckpoint' | 'latestKeptCheckpoint' | 'forkStart' | 'listEpochs'
> {
  putArtifact: ArtifactStore['put'];
  /** The whole content of an artifact, or null when it is gone. */
  readArtifact: (id: string) => Promise<Uint8Array | null>;
}

/** What the job runner needs of the store. */
export type RunnerStore = Pick<
  JobsRepository,
  | 'claim'
  | 'extendLease'
  | 'finish'
  | 'handBack'
  | 'cancelRequested'
  | 'recordSteps'
  | 'recordEpoch'
  | 'listEpochs'
  | 'recordStoppedEarly'
  | 'saveCheckpoint'
  | 'loadCheckpoint'
  | 'rewindTo'
>;

/**
 * The repository as a running attempt uses it: every write (and the checkpoint read) is retried
 * through a database outage for up to `storeRetryMs`, so no step is lost to a restart of Postgres.
 */
function retrier(storeRetryMs: number, logger: Logger, what = 'database write') {
  return <T>(write: () => Promise<T>) =>
    retrying(write, {
      totalMs: storeRetryMs,
      onRetry: (error, attempt) => logger.warn({ err: error, attempt }, `${what} failed; retrying`),
    });
}

export function durableJobs(jobs: RunnerStore, storeRetryMs: number, logger: Logger): RunnerStore {
  const durably = retrier(storeRetryMs, logger);
  return {
    ...jobs,
    recordSteps: (id, records) => durably(() => jobs.recordSteps(id, records)),
    recordEpoch: (id, metrics) => durably(() => jobs.recordEpoch(id, metrics)),
    saveCheckpoint: (id, checkpoint) => durably(() => jobs.saveCheckpoint(id, checkpoint)),
    finish: (id, status, error, owner) => durably(() => jobs.finish(id, status, error, owner)),
    handBack: (id, owner, options) => durably(() => jobs.handBack(id, owner, options)),
    loadCheckpoint: (id) => durably(() => jobs.loadCheckpoint(id)),
    rewindTo: (id, point) => durably(() => jobs.rewindTo(id, point)),
    listEpochs: (id) => durably(() => jobs.listEpochs(id)),
    recordStoppedEarly: (id, stoppedEarly) => durably(() => jobs.recordStoppedEarly(id, stoppedEarly)),
  };
}

/**
 * The model store retried like the jobs' writes, and its artifacts' bytes for `artifactRetryMs`: an
 * artifact store that is down (object storage) holds up the job's models, never skips them. A retried
 * `put` stores its content again from the start (a failed put leaves nothing behind); `content` must
 * be iterable more than once.
 */
export function durableModels(
  store: ModelStore,
  storeRetryMs: number,
  logger: Logger,
  artifactRetryMs = storeRetryMs,
): ModelStore {
  const durably = retrier(storeRetryMs, logger);
  const artifactDurably = retrier(artifactRetryMs, logger, 'artifact store write');
  return {
    putArtifact: (content) => artifactDurably(() => store.putArtifact(content)),
    saveModel: (record) => durably(() => store.saveModel(record)),
    findModel: (jobId, version) => durably(() => store.findModel(jobId, version)),
    datasetInfo: (name) => durably(() => store.datasetInfo(name)),
  };
}

/** The checkpoint store retried like the models'; a retried `put` stores its content again. */
export function durableCheckpoints(
  store: CheckpointStore,
  storeRetryMs: number,
  logger: Logger,
  artifactRetryMs = storeRetryMs,
): CheckpointStore {
  const durably = retrier(storeRetryMs, logger);
  const artifactDurably = retrier(artifactRetryMs, logger, 'artifact store write');
  return {
    putArtifact: (content) => artifactDurably(() => store.putArtifact(content)),
    readArtifact: (id) => artifactDurably(() => store.readArtifact(id)),
    keepCheckpoint: (id, checkpoint, keepLast) => durably(() => store.keepCheckpoint(id, checkpoint, keepLast)),
    latestKeptCheckpoint: (id) => durably(() => store.latestKeptCheckpoint(id)),
    forkStart: (id) => durably(() => store.forkStart(id)),
    listEpochs: (id) => durably(() => store.listEpochs(id)),
  };
}
