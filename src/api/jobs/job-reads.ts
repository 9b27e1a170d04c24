import { InvalidRequest, JobNotFound } from '../../domain/errors.js';
import type { StepRun } from '../../domain/metrics.js';
import type { Logger } from '../../logger.js';
import type { JobsRepository, JobWithEpochs, StepRecord } from '../../store/jobs-repository.js';
import { createHistoryCache, type HistoryCache } from '../history/history-cache.js';
import { lineageSegments, lineageSteps, sampledLineageSteps, type LineageSegment } from '../history/lineage-history.js';
import { readFinished, readSampled, sampledHistory, type SampleStore } from '../history/sampled-history.js';
import { uuidPattern } from '../http/common-schemas.js';

/** A job's loss history as the API serves it: steps in order, in pages. */
export interface History {
  jobId: string;
  steps: AsyncIterable<readonly StepRecord[]> | Iterable<readonly StepRecord[]>;
  /** Steps recorded when downsampled; null when `steps` is the whole history. */
  totalSteps: number | null;
  downsampling: 'lttb' | null;
  /** With `lineage`: the runs the steps come from, oldest first, each through its last step here. */
  lineage?: LineageSegment[];
}

/** A job id as the store keys it, or InvalidRequest when it is not a UUID. */
export function checkId(id: string): string {
  if (!uuidPattern.test(id)) {
    throw new InvalidRequest('invalid_id', 'job id must be a UUID', [{ path: 'id', message: 'must be a UUID' }]);
  }
  return id.toLowerCase();
}

/** The history of a job and its ancestors (see `lineageSegments`), whole or downsampled to `points`. */
async function lineageHistory(
  jobs: Store,
  jobId: string,
  points: number | undefined,
  owner?: string,
): Promise<History> {
  const segments = await lineageSegments(jobs, jobId, owner);
  if (points === undefined) {
    return { jobId, steps: lineageSteps(jobs, segments), totalSteps: null, downsampling: null, lineage: segments };
  }
  const sampled = await sampledLineageSteps(jobs, segments, points);
  const downsampling = sampled.steps.length < sampled.total ? 'lttb' : null;
  return { jobId, steps: [sampled.steps], totalSteps: sampled.total, downsampling, lineage: segments };
}

type Store = Pick<JobsRepository, 'find' | 'perClassAccuracy' | 'historyPages' | 'forkStart' | 'ownerOf'> & SampleStore;

/**
 * Reading jobs and their loss histories; `cache` keeps finished jobs' downsampled ones (none by
 * default), and finished jobs' samples of the dashboard's points are also stored in Postgres.
 * `logger` hears of samples that could not be stored (the read still answers).
 */
export function createJobReads(jobs: Store, cache: HistoryCache = createHistoryCache(0), logger?: Logger) {
  /** The job; with `owner`, only that owner's: another owner's job is JobNotFound, exactly like a missing one. */
  async function get(id: string, owner?: string): Promise<JobWithEpochs> {
    const job = await jobs.find(checkId(id), owner);
    if (!job) throw new JobNotFound([id]);
    return job;
  }

  const unstored = (jobId: string, error: unknown) =>
    logger?.warn({ err: error, jobId }, 'could not store the sample of a history');

  /** The history of `job` downsampled to `points`, through the cache; only a finished job's is stored. */
  const cachedSample = (job: JobWithEpochs, points: number) =>
    cache.get(job, points, () =>
      cache.keeps(job) ? readFinished(jobs, job, points, unstored) : readSampled(jobs, job.id, points),
    );

  return {
    get,
    /** A job's loss history downsampled (LTTB) to at most `points`, read once in runs of steps. */
    sampledHistory: (jobId: string, points: number) => sampledHistory(jobs, jobId, points),

    /** Reads a finished job's history downsampled to `points` into the cache and stores it, unless it is there already. */
    async warm(jobId: string, points: number): Promise<void> {
      const job = await jobs.find(jobId);
      if (job && cache.keeps(job)) await cachedSample(job, points);
    },

    /** Forgets what the cache holds of a job. */
    forget: (jobId: string): void => cache.drop(jobId),

    /** The job, or null when there is none with this id. */
    find: (id: string): Promise<JobWithEpochs | null> => jobs.find(checkId(id)),

    /** Each evaluated epoch's per-class test accuracy, for epoch events replayed from the record. */
    perClassAccuracy: (id: string): Promise<Map<number, (number | null)[]>> => jobs.perClassAccuracy(checkId(id)),

    /**
     * A job's steps after `after`, in order, a page of 5,000 at a time as runs of consecutive steps
     * (losses in typed arrays), so a long history is never held whole nor as an object per step.
     */
    stepsAfter: (id: string, after: number): AsyncIterable<readonly StepRun[]> =>
      jobs.historyRuns(checkId(id), { after, pageSize: 5000 }),

    /**
     * The whole history of the job as runs of consecutive steps in typed arrays, a page at a time
     * (for exports, which want no object per step); read with `owner` first, as `history`.
     */
    historyRuns: async (id: string, owner?: string): Promise<{ jobId: string; runs: AsyncIterable<StepRun[]> }> => {
      const job = await get(id, owner);
      const extent = await jobs.historyExtent(job.id);
      // Pages of 10,000 steps: each is formatted whole before it is sent, so its size is what memory holds.
      return { jobId: job.id, runs: jobs.historyRuns(job.id, { through: extent.lastStep, pageSize: 10_000 }) };
    },

    /**
     * The history, whole or downsampled (LTTB) to about `points`, always keeping the first and last
     * step. A whole history is read from Postgres and passed on a page at a time; a downsampled one of
     * a finished job comes from the cache when it is there, else from its stored sample. The job is
     * read with `owner` first, so nothing cached or stored is served to a viewer who may not see it.
     */
    history: async (id: string, points?: number, owner?: string, lineage = false): Promise<History> => {
      const job = await get(id, owner);
      if (lineage) return lineageHistory(jobs, job.id, points, owner);
      if (points === undefined) {
        const extent = await jobs.historyExtent(job.id);
        const steps = jobs.historyPages(job.id, { through: extent.lastStep });
        return { jobId: job.id, steps, totalSteps: null, downsampling: null };
      }
      const sampled = await cachedSample(job, points);
      return {
        jobId: job.id,
        steps: [sampled.steps],
        totalSteps: sampled.totalSteps,
        downsampling: sampled.downsampling,
      };
    },
  };
}
