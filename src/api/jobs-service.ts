import { randomInt, randomUUID } from 'node:crypto';
import type { PublishEvent } from '../events/job-events.js';
import type { Logger } from '../logger.js';
import { parseJobSpec } from '../spec/job-spec.js';
import { specParameterCount, totalSteps } from '../spec/model-shape.js';
import type { JobsRepository, JobWithEpochs, RunQuery, StepRecord } from '../store/jobs-repository.js';
import { compareRuns } from './compare.js';
import { lttb } from './downsample.js';
import { ApiError, notFound } from './errors.js';
import { isUuid } from './validation.js';

export interface JobsServiceDeps {
  jobs: JobsRepository;
  /** Queues training of a job already committed; may fail, the job then waits for the reconciler. */
  enqueue(jobId: string): Promise<void>;
  /** Removes a queued job's message, best effort: a worker skips cancelled jobs anyway. */
  dequeue(jobId: string): Promise<void>;
  publish: PublishEvent;
  maxParameters: number;
  logger: Logger;
}

function checkId(id: string): string {
  if (!isUuid(id)) throw new ApiError(400, 'invalid_id', 'job id must be a UUID', [{ path: 'id', message: 'must be a UUID' }]);
  return id.toLowerCase();
}

/** Submitting, reading, cancelling and comparing jobs, independent of HTTP. */
export function createJobsService({ jobs, enqueue, dequeue, publish, maxParameters, logger }: JobsServiceDeps) {
  async function get(id: string): Promise<JobWithEpochs> {
    const job = await jobs.find(checkId(id));
    if (!job) throw notFound(`job ${id}`);
    return job;
  }

  return {
    get,

    /** Validates, stores (committed before queueing) and queues a job. */
    async submit(body: unknown): Promise<JobWithEpochs> {
      const parsed = parseJobSpec(body, { maxParameters });
      if (!parsed.ok) {
        const fields = [...new Set(parsed.issues.map((issue) => issue.path))].join(', ');
        throw new ApiError(400, 'invalid_spec', `invalid job spec: ${fields}`, parsed.issues);
      }
      // A job always has a seed, so any run can be repeated exactly.
      const spec = { ...parsed.spec, seed: parsed.spec.seed ?? randomInt(0, 2 ** 32 - 1) };
      const job = await jobs.create({ id: randomUUID(), spec, parameterCount: specParameterCount(spec), totalSteps: totalSteps(spec) });
      logger.info({ jobId: job.id, status: 'queued' }, 'job queued');
      try {
        await enqueue(job.id);
      } catch (error) {
        // The row is the record: the reconciler queues it once the queue is reachable again.
        logger.warn({ jobId: job.id, err: error }, 'could not queue job; the reconciler will retry');
      }
      await publish({ type: 'status', jobId: job.id, status: 'queued', error: null });
      return job;
    },

    /** The history, whole or downsampled (LTTB) to about `points`, always keeping the first and last step. */
    async history(id: string, points?: number): Promise<{ steps: StepRecord[]; totalSteps: number }> {
      const job = await get(id);
      const steps = await jobs.history(job.id);
      if (points === undefined) return { steps, totalSteps: steps.length };
      return { steps: lttb(steps, points, (step) => step.step, (step) => step.loss), totalSteps: steps.length };
    },

    /** Cancels a queued job at once or asks a running one's worker to stop; 409 once it has ended. */
    async cancel(id: string): Promise<JobWithEpochs> {
      const jobId = checkId(id);
      const outcome = await jobs.requestCancel(jobId);
      if (outcome === null) throw notFound(`job ${id}`);
      if (outcome === 'finished') {
        const job = await get(jobId);
        throw new ApiError(409, 'job_finished', `job ${jobId} has already ${job.status === 'cancelled' ? 'been cancelled' : job.status}`);
      }
      if (outcome === 'cancelled') {
        await dequeue(jobId).catch(() => undefined);
        await publish({ type: 'status', jobId, status: 'cancelled', error: null });
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
      const histories = new Map(await Promise.all(found.map(async (job) => [job.id, await jobs.history(job.id)] as const)));
      return compareRuns(found, histories, points);
    },
  };
}

export type JobsService = ReturnType<typeof createJobsService>;
