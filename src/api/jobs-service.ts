import { JobAlreadyFinished, JobNotFound, JobStillActive } from '../domain/errors.js';
import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import type { JobsRepository, JobWithEpochs, RunQuery } from '../store/jobs-repository.js';
import { compareRuns } from './compare.js';
import { checkId, createJobReads } from './job-reads.js';
import { decodeCursor, encodeCursor } from './run-cursor.js';
import { guardStore } from './store-guard.js';
import { createSubmit, type DatasetResolver } from './submit-job.js';

export type { History } from './job-reads.js';

export interface JobsServiceDeps {
  jobs: JobsRepository;
  /** Queues training of a job already committed; may fail, the job then waits for the reconciler. */
  enqueue: (jobId: string) => Promise<void>;
  /** Removes a queued job's message, best effort: a worker skips cancelled jobs anyway. */
  dequeue: (jobId: string) => Promise<void>;
  /** Tells the worker holding a running job that its cancel was committed, best effort (it also polls). */
  announceCancel: (jobId: string) => Promise<void>;
  publish: PublishEvent;
  maxParameters: number;
  maxJobMemoryBytes: number;
  /** Finds a dataset by name at submission; only the bundled ones when absent. */
  findDataset?: DatasetResolver;
  logger: Logger;
}

/** GET /jobs's filters, sort and page, with the cursor as the client holds it. */
export type RunListRequest = Omit<RunQuery, 'after'> & { cursor?: string };

export interface RunPage {
  runs: JobWithEpochs[];
  /** Opaque; names where the next page starts, or null on the last page. */
  nextCursor: string | null;
}

type CancelDeps = Pick<JobsServiceDeps, 'dequeue' | 'announceCancel' | 'publish' | 'logger'> & {
  jobs: Pick<JobsRepository, 'requestCancel'>;
  get: (id: string) => Promise<JobWithEpochs>;
};

/** Cancels a queued job at once or asks a running one's worker to stop; JobAlreadyFinished once it has ended. */
function createCancel({ jobs, get, dequeue, announceCancel, publish, logger }: CancelDeps) {
  /**
   * `stopping` is true when a running job's worker was asked to stop (it may already have by the time
   * the job is read back), false when a queued job was cancelled at once.
   */
  return async function cancel(id: string): Promise<{ job: JobWithEpochs; stopping: boolean }> {
    const jobId = checkId(id);
    const outcome = await jobs.requestCancel(jobId);
    if (outcome === null) throw new JobNotFound([id]);
    if (outcome === 'finished') throw new JobAlreadyFinished(jobId, (await get(jobId)).status);
    if (outcome === 'cancelled') {
      await dequeue(jobId).catch(() => undefined);
      publish({ type: 'status', jobId, status: 'cancelled', error: null });
      logger.info({ jobId, status: 'cancelled' }, 'queued job cancelled');
    } else {
      logger.info({ jobId }, 'cancel requested for running job');
      // The worker also polls Postgres for cancels, so a lost announcement only delays the stop.
      await announceCancel(jobId).catch((error: unknown) =>
        logger.warn({ jobId, err: error }, 'could not announce the cancel; the worker will see it when it polls'),
      );
    }
    return { job: await get(jobId), stopping: outcome === 'requested' };
  };
}

/** One page of runs and the cursor of the next; the cursor is this service's own, opaque to clients. */
async function listRuns(jobs: Pick<JobsRepository, 'listRuns'>, request: RunListRequest): Promise<RunPage> {
  const { cursor, ...query } = request;
  const after = cursor === undefined ? undefined : decodeCursor(cursor, query.sort, query.order);
  const { runs, keys, more } = await jobs.listRuns({ ...query, ...(after ? { after } : {}) });
  const last = runs.at(-1);
  const key = keys.at(-1);
  const nextCursor =
    last && more && key !== undefined ? encodeCursor({ sort: query.sort, order: query.order, key, id: last.id }) : null;
  return { runs, nextCursor };
}

/** Submitting, reading, cancelling, listing and comparing jobs, independent of HTTP: it throws domain errors. */
export function createJobsService(deps: JobsServiceDeps) {
  // Database outages surface as DependencyUnavailable, whichever call meets them.
  const jobs = guardStore(deps.jobs);
  const reads = createJobReads(jobs);
  const limits = { maxParameters: deps.maxParameters, maxJobMemoryBytes: deps.maxJobMemoryBytes };
  return {
    get: reads.get,
    find: reads.find,
    stepsAfter: reads.stepsAfter,
    perClassAccuracy: reads.perClassAccuracy,
    history: reads.history,
    submit: createSubmit({ ...deps, jobs, get: reads.get, limits }),
    cancel: createCancel({ ...deps, jobs, get: reads.get }),
    list: (request: RunListRequest) => listRuns(jobs, request),

    /** Deletes an ended job and all it holds; JobStillActive while it is queued or running. */
    async remove(id: string): Promise<void> {
      const jobId = checkId(id);
      const result = await jobs.deleteEndedJob(jobId);
      if (result.outcome === 'gone') throw new JobNotFound([id]);
      if (result.outcome === 'active') throw new JobStillActive(jobId, result.status);
      deps.logger.info({ jobId }, 'job deleted');
    },

    /** 2 to 20 runs side by side, loss curves downsampled to about `points` each. */
    async compare(ids: readonly string[], points: number) {
      const unique = [...new Set(ids.map(checkId))];
      const found = await jobs.findMany(unique);
      const missing = unique.filter((id) => !found.some((job) => job.id === id));
      if (missing.length > 0) throw new JobNotFound(missing, { among: true });
      const curves = new Map(
        await Promise.all(found.map(async (job) => [job.id, await reads.sampledHistory(job.id, points)] as const)),
      );
      return compareRuns(found, curves, points);
    },
  };
}

export type JobsService = ReturnType<typeof createJobsService>;
