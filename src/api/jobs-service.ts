import { createHash, randomInt, randomUUID } from 'node:crypto';
import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import { parseJobSpec } from '../domain/job-spec.js';
import { specParameterCount, totalSteps } from '../domain/model-shape.js';
import type { JobsRepository, JobWithEpochs, RunQuery, StepRecord } from '../store/jobs-repository.js';
import { compareRuns } from './compare.js';
import { lttbPaged } from './downsample.js';
import { ApiError, notFound } from './errors.js';
import { isUuid } from './validation.js';

/** A job's loss history as the API serves it: steps in order, in pages. */
export interface History {
  steps: AsyncIterable<readonly StepRecord[]> | Iterable<readonly StepRecord[]>;
  /** Steps recorded when downsampled; null when `steps` is the whole history. */
  totalSteps: number | null;
  downsampling: 'lttb' | null;
}

export interface JobsServiceDeps {
  jobs: JobsRepository;
  /** Queues training of a job already committed; may fail, the job then waits for the reconciler. */
  enqueue(jobId: string): Promise<void>;
  /** Removes a queued job's message, best effort: a worker skips cancelled jobs anyway. */
  dequeue(jobId: string): Promise<void>;
  publish: PublishEvent;
  maxParameters: number;
  maxJobMemoryBytes: number;
  logger: Logger;
}

// Key order does not change what a body means, so it does not change its hash either.
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const idempotencyKeyPattern = /^[\x21-\x7e]{1,200}$/;

function checkId(id: string): string {
  if (!isUuid(id))
    throw new ApiError(400, 'invalid_id', 'job id must be a UUID', [{ path: 'id', message: 'must be a UUID' }]);
  return id.toLowerCase();
}

/** Submitting, reading, cancelling and comparing jobs, independent of HTTP. */
export function createJobsService({
  jobs,
  enqueue,
  dequeue,
  publish,
  maxParameters,
  maxJobMemoryBytes,
  logger,
}: JobsServiceDeps) {
  async function get(id: string): Promise<JobWithEpochs> {
    const job = await jobs.find(checkId(id));
    if (!job) throw notFound(`job ${id}`);
    return job;
  }

  /** A job's loss history downsampled (LTTB) to at most `points`, read twice a page at a time. */
  async function sampledHistory(
    jobId: string,
    points: number,
    extent?: { count: number; lastStep: number },
  ): Promise<StepRecord[]> {
    const { count, lastStep } = extent ?? (await jobs.historyExtent(jobId));
    const read = () => jobs.historyPages(jobId, { through: lastStep });
    return lttbPaged(
      count,
      points,
      read,
      (step) => step.step,
      (step) => step.loss,
    );
  }

  return {
    get,

    /**
     * Validates, stores (committed before queueing) and queues a job. With an idempotency key, a
     * repeat of the same body returns the job the key first created (`replayed`), and a different
     * body under the same key is refused with 422.
     */
    async submit(body: unknown, idempotencyKey?: string): Promise<{ job: JobWithEpochs; replayed: boolean }> {
      if (idempotencyKey !== undefined && !idempotencyKeyPattern.test(idempotencyKey)) {
        throw new ApiError(
          400,
          'invalid_idempotency_key',
          'Idempotency-Key must be 1 to 200 printable ASCII characters',
          [{ path: 'Idempotency-Key', message: 'must be 1 to 200 printable ASCII characters' }],
        );
      }
      const bodyHash =
        idempotencyKey === undefined ? '' : createHash('sha256').update(canonicalJson(body)).digest('hex');
      const replay = async (): Promise<{ job: JobWithEpochs; replayed: boolean } | null> => {
        const existing = idempotencyKey === undefined ? null : await jobs.findByIdempotencyKey(idempotencyKey);
        if (!existing) return null;
        if (existing.bodyHash !== bodyHash) {
          throw new ApiError(
            422,
            'idempotency_key_reused',
            'this Idempotency-Key was already used with a different body',
          );
        }
        return { job: await get(existing.jobId), replayed: true };
      };
      const earlier = await replay();
      if (earlier) return earlier;

      const parsed = parseJobSpec(body, { maxParameters, maxJobMemoryBytes });
      if (!parsed.ok) {
        const fields = [...new Set(parsed.issues.map((issue) => issue.path))].join(', ');
        throw new ApiError(400, 'invalid_spec', `invalid job spec: ${fields}`, parsed.issues);
      }
      // A job always has a seed, so any run can be repeated exactly.
      const spec = { ...parsed.spec, seed: parsed.spec.seed ?? randomInt(0, 2 ** 32 - 1) };
      const newJob = { id: randomUUID(), spec, parameterCount: specParameterCount(spec), totalSteps: totalSteps(spec) };
      let job: JobWithEpochs;
      if (idempotencyKey === undefined) job = await jobs.create(newJob);
      else {
        const created = await jobs.createWithKey(newJob, idempotencyKey, bodyHash);
        if (!created) {
          // A concurrent request with the same key won the race; answer as it did.
          const raced = await replay();
          if (!raced) throw new Error('idempotency key vanished after a conflict');
          return raced;
        }
        job = created;
      }
      logger.info({ jobId: job.id, status: 'queued' }, 'job queued');
      try {
        await enqueue(job.id);
      } catch (error) {
        // The row is the record: the reconciler queues it once the queue is reachable again.
        logger.warn({ jobId: job.id, err: error }, 'could not queue job; the reconciler will retry');
      }
      publish({ type: 'status', jobId: job.id, status: 'queued', error: null });
      return { job, replayed: false };
    },

    /**
     * The history, whole or downsampled (LTTB) to about `points`, always keeping the first and last
     * step; read from Postgres a page at a time, and a whole history is passed on the same way.
     */
    async history(id: string, points?: number): Promise<History> {
      const job = await get(id);
      const extent = await jobs.historyExtent(job.id);
      if (points === undefined || extent.count <= points) {
        return { steps: jobs.historyPages(job.id, { through: extent.lastStep }), totalSteps: null, downsampling: null };
      }
      return { steps: [await sampledHistory(job.id, points, extent)], totalSteps: extent.count, downsampling: 'lttb' };
    },

    /** Cancels a queued job at once or asks a running one's worker to stop; 409 once it has ended. */
    async cancel(id: string): Promise<JobWithEpochs> {
      const jobId = checkId(id);
      const outcome = await jobs.requestCancel(jobId);
      if (outcome === null) throw notFound(`job ${id}`);
      if (outcome === 'finished') {
        const job = await get(jobId);
        throw new ApiError(
          409,
          'job_finished',
          `job ${jobId} has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}`,
        );
      }
      if (outcome === 'cancelled') {
        await dequeue(jobId).catch(() => undefined);
        publish({ type: 'status', jobId, status: 'cancelled', error: null });
        logger.info({ jobId, status: 'cancelled' }, 'queued job cancelled');
      } else logger.info({ jobId }, 'cancel requested for running job');
      return get(jobId);
    },

    list(query: RunQuery) {
      return jobs.listRuns(query);
    },

    /** 2 to 20 runs side by side, loss curves downsampled to about `points` each. */
    async compare(ids: readonly string[], points: number) {
      const unique = [...new Set(ids.map(checkId))];
      const found = await jobs.findMany(unique);
      const missing = unique.filter((id) => !found.some((job) => job.id === id));
      if (missing.length > 0) throw new ApiError(404, 'not_found', `no job with id ${missing.join(', ')}`);
      const curves = new Map(
        await Promise.all(found.map(async (job) => [job.id, await sampledHistory(job.id, points)] as const)),
      );
      return compareRuns(found, curves, points);
    },
  };
}

export type JobsService = ReturnType<typeof createJobsService>;
