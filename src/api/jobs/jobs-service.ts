import { visibleOwner, type Viewer } from '../../domain/access.js';
import { JobAlreadyFinished, JobNotFound, JobStillActive } from '../../domain/errors.js';
import { dashboardHistoryPoints } from '../../domain/history-points.js';
import type { PublishEvent } from '../../events/job-events.js';
import type { Logger } from '../../logger.js';
import type { QueuedJob } from '../../queue/training-queue.js';
import type { Accelerator } from '../../domain/spec-vocabulary.js';
import type { JobEdit, JobsRepository, JobWithEpochs, ListedRun, RunQuery } from '../../store/jobs-repository.js';
import { compareRuns } from '../../history/compare.js';
import { comparedRun, type Lineage } from './job-view.js';
import type { HistoryCache } from '../history/history-cache.js';
import { checkId, createJobReads } from './job-reads.js';
import { decodeCursor, encodeCursor } from '../http/run-cursor.js';
import { guardStore } from '../http/store-guard.js';
import { createFork, type ForkDeps } from './fork-job.js';
import { bundledDatasetResolver, createSubmit, type DatasetResolver } from './submit-job.js';

export type { History } from './job-reads.js';

export interface JobsServiceDeps {
  jobs: JobsRepository;
  /** Queues training of a job already committed; may fail, the job then waits for the reconciler. */
  enqueue: (job: QueuedJob) => Promise<void>;
  /** Queues several committed jobs in one round trip; `enqueue` for each when absent. */
  enqueueMany?: (jobs: QueuedJob[]) => Promise<void>;
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
  /** Admits one more job of an owner or throws (quotas, submission rate); absent with AUTH=off. */
  admit?: (owner: string) => Promise<void>;
  /**
   * Whether a live worker trains on `accelerator`: a job asking for one that none offers is refused
   * unless it may wait. Every accelerator counts as available when absent.
   */
  acceleratorAvailable?: (accelerator: Accelerator) => Promise<boolean>;
  /** Finished jobs' downsampled histories; none are kept when absent. */
  historyCache?: HistoryCache;
  /**
   * Deletes the stored objects of the artifacts a deletion released (models, kept checkpoints), in
   * the background; the API's periodic drain catches whatever it misses.
   */
  releaseArtifacts?: () => Promise<unknown>;
}

/** GET /jobs's filters, sort and page, with the cursor as the client holds it. */
export type RunListRequest = Omit<RunQuery, 'after' | 'owner'> & {
  cursor?: string;
  /** Only this owner's runs; honoured for admins, who otherwise see every owner's. */
  owner?: string;
};

export interface RunPage {
  runs: ListedRun[];
  /** Opaque; names where the next page starts, or null on the last page. */
  nextCursor: string | null;
}

type CancelDeps = Pick<JobsServiceDeps, 'dequeue' | 'announceCancel' | 'publish' | 'logger'> & {
  jobs: Pick<JobsRepository, 'requestCancel'>;
  get: (id: string) => Promise<JobWithEpochs>;
};

/** The owner a request is limited to: a non-admin's own; for an admin, the filter it asked for, if any. */
function listOwner(viewer: Viewer, asked: string | undefined): string | undefined {
  return visibleOwner(viewer) ?? asked;
}

/** Cancels a queued job at once or asks a running one's worker to stop; JobAlreadyFinished once it has ended. */
function createCancel({ jobs, get, dequeue, announceCancel, publish, logger }: CancelDeps) {
  /**
   * `stopping` is true when a running job's worker was asked to stop (it may already have by the time
   * the job is read back), false when a queued job was cancelled at once.
   */
  return async function cancel(viewer: Viewer, id: string): Promise<{ job: JobWithEpochs; stopping: boolean }> {
    const jobId = checkId(id);
    const outcome = await jobs.requestCancel(jobId, visibleOwner(viewer));
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
async function listRuns(
  jobs: Pick<JobsRepository, 'listRuns'>,
  viewer: Viewer,
  request: RunListRequest,
): Promise<RunPage> {
  const { cursor, owner: askedOwner, ...query } = request;
  const after = cursor === undefined ? undefined : decodeCursor(cursor, query.sort, query.order);
  const owner = listOwner(viewer, askedOwner);
  const { runs, keys, more } = await jobs.listRuns({
    ...query,
    ...(after ? { after } : {}),
    ...(owner === undefined ? {} : { owner }),
  });
  const last = runs.at(-1);
  const key = keys.at(-1);
  const nextCursor =
    last && more && key !== undefined ? encodeCursor({ sort: query.sort, order: query.order, key, id: last.id }) : null;
  return { runs, nextCursor };
}

// Owners never change, so what is known of a job's owner stays true; bounded so memory is too.
function createOwnerCache(ownerOf: (id: string) => Promise<string | null>, size = 10_000) {
  const owners = new Map<string, string>();
  return async (jobId: string): Promise<string | null> => {
    const known = owners.get(jobId);
    if (known !== undefined) return known;
    const owner = await ownerOf(jobId);
    if (owner === null) return null;
    if (owners.size >= size) owners.delete(owners.keys().next().value as string);
    owners.set(jobId, owner);
    return owner;
  };
}

/** A job's parent (said to be deleted once it is) and the children `viewer` sees. */
export async function lineageOf(
  jobs: Pick<JobsRepository, 'forkStart' | 'forksOf' | 'ownerOf'>,
  viewer: Viewer,
  jobId: string,
): Promise<Required<Lineage>> {
  const [fork, children] = await Promise.all([jobs.forkStart(jobId), jobs.forksOf(jobId, visibleOwner(viewer))]);
  if (!fork) return { parent: null, children };
  const { parentJobId, parentEpoch, parentStep, optimizerState, dataOrder } = fork;
  // Read afresh, not through the owner cache: a parent may have been deleted since it was cached.
  const deleted = (await jobs.ownerOf(parentJobId)) === null;
  const resumed = { weights: true as const, optimizerState, dataOrder };
  return { parent: { jobId: parentJobId, epoch: parentEpoch, step: parentStep, deleted, resumed }, children };
}

/** Forking jobs, and reading their lineage and kept checkpoints. */
function forkOperations(
  deps: Pick<JobsServiceDeps, 'findDataset' | 'admit'>,
  context: Pick<ForkDeps, 'visibleJob' | 'submission' | 'limits'> & { jobs: JobsRepository },
) {
  const { jobs, visibleJob } = context;
  const forkJob = createFork({
    ...context,
    findDataset: deps.findDataset ?? bundledDatasetResolver,
    ...(deps.admit ? { admit: deps.admit } : {}),
  });
  return {
    /** Forks a job `viewer` sees (see createFork); the new job comes with its lineage. */
    async fork(viewer: Viewer, id: string, body: unknown, idempotencyKey?: string) {
      const forked = await forkJob(viewer, id, body, idempotencyKey);
      return { ...forked, lineage: await lineageOf(jobs, viewer, forked.job.id) };
    },

    /** The job with where it was forked from and the runs forked from it that `viewer` sees. */
    async getWithLineage(viewer: Viewer, id: string): Promise<{ job: JobWithEpochs; lineage: Lineage }> {
      const job = await visibleJob(viewer, id);
      return { job, lineage: await lineageOf(jobs, viewer, job.id) };
    },

    /** A job's kept checkpoints, in epoch order; `best` marks the one its best epoch left. */
    async checkpoints(viewer: Viewer, id: string) {
      const job = await visibleJob(viewer, id);
      return { job, checkpoints: await jobs.listKeptCheckpoints(job.id) };
    },
  };
}

/** Every run `listRuns` would give page after page, `pageSize` at a time. */
async function* everyRun(
  jobs: JobsRepository,
  viewer: Viewer,
  request: Omit<RunListRequest, 'cursor' | 'limit'>,
  pageSize: number,
): AsyncGenerator<ListedRun[]> {
  let cursor: string | undefined;
  do {
    const page = await listRuns(jobs, viewer, { ...request, limit: pageSize, ...(cursor ? { cursor } : {}) });
    yield page.runs;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/**
 * Submitting, reading, cancelling, listing and comparing jobs, independent of HTTP: it throws
 * domain errors. Every operation takes the `Viewer` it acts for and sees only that viewer's jobs
 * (an admin's: all); another owner's job is JobNotFound, exactly like one that does not exist.
 */
export function createJobsService(deps: JobsServiceDeps) {
  // Database outages surface as DependencyUnavailable, whichever call meets them.
  const jobs = guardStore(deps.jobs);
  const reads = createJobReads(jobs, deps.historyCache, deps.logger);
  const limits = { maxParameters: deps.maxParameters, maxJobMemoryBytes: deps.maxJobMemoryBytes };
  const ownerOf = createOwnerCache((id) => jobs.ownerOf(id));
  /** The job if `viewer` may see it; JobNotFound otherwise. Every route about one job starts here. */
  const visibleJob = (viewer: Viewer, id: string) => reads.get(id, visibleOwner(viewer));
  const submission = createSubmit({ ...deps, jobs, get: reads.get, limits });
  return {
    visibleJob,
    get: visibleJob,
    /** Unchecked reads for a stream whose job was already checked with `visibleJob`. */
    find: reads.find,
    stepsAfter: reads.stepsAfter,
    /** Unchecked, like `find`: for a stream whose job was already checked with `visibleJob`. */
    perClassAccuracy: reads.perClassAccuracy,
    history: (viewer: Viewer, id: string, points?: number, lineage = false) =>
      reads.history(id, points, visibleOwner(viewer), lineage),
    /** The whole history of a job `viewer` sees, in runs of typed arrays, for exports. */
    historyRuns: (viewer: Viewer, id: string) => reads.historyRuns(id, visibleOwner(viewer)),
    /** Caches (and stores in Postgres) a job's history as the run page asks for it, if the job has finished. */
    warmHistory: (jobId: string) => reads.warm(jobId, dashboardHistoryPoints),
    submit: submission.submit,
    ...forkOperations(deps, { jobs, visibleJob, submission, limits }),
    cancel: createCancel({ ...deps, jobs, get: reads.get }),
    list: (viewer: Viewer, request: RunListRequest) => listRuns(jobs, viewer, request),

    /** Every run `list` would give page after page, `pageSize` at a time, for exports. */
    listAll: (viewer: Viewer, request: Omit<RunListRequest, 'cursor' | 'limit'>, pageSize = 100) =>
      everyRun(jobs, viewer, request, pageSize),

    /**
     * Deletes an ended job `viewer` sees and all it holds; JobStillActive while it is queued or running.
     * The role check (members and admins) is the route's; the owner check is here.
     */
    async remove(viewer: Viewer, id: string): Promise<void> {
      const jobId = (await visibleJob(viewer, id)).id;
      const result = await jobs.deleteEndedJob(jobId);
      if (result.outcome === 'gone') throw new JobNotFound([id]);
      if (result.outcome === 'active') throw new JobStillActive(jobId, result.status);
      reads.forget(jobId);
      deps.releaseArtifacts?.().catch((error: unknown) => {
        deps.logger.warn({ err: error, jobId }, 'could not delete the stored objects of a deleted job yet');
      });
      deps.logger.info({ jobId }, 'job deleted');
    },

    /**
     * Changes what a job `viewer` sees says about itself (name, tags, notes, pinned) and records the
     * time; the role check (members and admins) is the route's.
     */
    async edit(viewer: Viewer, id: string, edit: JobEdit) {
      const jobId = checkId(id);
      if (!(await jobs.editJob(jobId, edit, visibleOwner(viewer)))) throw new JobNotFound([id]);
      const job = await visibleJob(viewer, jobId);
      return { job, lineage: await lineageOf(jobs, viewer, job.id) };
    },

    /** Whether `viewer` may see events of this job (for the stream of every job's events). */
    async canSee(viewer: Viewer, jobId: string): Promise<boolean> {
      const owner = visibleOwner(viewer);
      return owner === undefined || (await ownerOf(jobId)) === owner;
    },

    /** 2 to 20 runs side by side, loss curves downsampled to about `points` each; any id not visible fails it all. */
    async compare(viewer: Viewer, ids: readonly string[], points: number) {
      const unique = [...new Set(ids.map(checkId))];
      const found = await jobs.findMany(unique, visibleOwner(viewer));
      const missing = unique.filter((id) => !found.some((job) => job.id === id));
      if (missing.length > 0) throw new JobNotFound(missing, { among: true });
      const curves = new Map(
        await Promise.all(found.map(async (job) => [job.id, await reads.sampledHistory(job.id, points)] as const)),
      );
      return compareRuns(found.map(comparedRun), curves, points);
    },
  };
}

export type JobsService = ReturnType<typeof createJobsService>;
