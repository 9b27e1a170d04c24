import type { Logger } from '../logger.js';
import type { JobsRepository } from '../store/jobs-repository.js';
import { retrying } from './retry.js';

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
export function durableJobs(jobs: RunnerStore, storeRetryMs: number, logger: Logger): RunnerStore {
  const durably = <T>(write: () => Promise<T>) =>
    retrying(write, {
      totalMs: storeRetryMs,
      onRetry: (error, attempt) => logger.warn({ err: error, attempt }, 'database write failed; retrying'),
    });
  return {
    ...jobs,
    recordSteps: (id, records) => durably(() => jobs.recordSteps(id, records)),
    recordEpoch: (id, metrics) => durably(() => jobs.recordEpoch(id, metrics)),
    saveCheckpoint: (id, checkpoint) => durably(() => jobs.saveCheckpoint(id, checkpoint)),
    finish: (id, status, error, owner) => durably(() => jobs.finish(id, status, error, owner)),
    handBack: (id, owner) => durably(() => jobs.handBack(id, owner)),
    loadCheckpoint: (id) => durably(() => jobs.loadCheckpoint(id)),
    rewindTo: (id, point) => durably(() => jobs.rewindTo(id, point)),
    listEpochs: (id) => durably(() => jobs.listEpochs(id)),
    recordStoppedEarly: (id, stoppedEarly) => durably(() => jobs.recordStoppedEarly(id, stoppedEarly)),
  };
}
