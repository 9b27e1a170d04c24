import { randomInt, randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { parseJobSpec } from '../spec/job-spec.js';
import { specParameterCount, totalSteps } from '../spec/model-shape.js';
import type { JobsRepository, JobWithEpochs, StepRecord } from '../store/jobs-repository.js';
import { ApiError, notFound } from './errors.js';

export interface JobsServiceDeps {
  jobs: JobsRepository;
  /** Queues training of a job already committed; may fail, the job then waits for the reconciler. */
  enqueue(jobId: string): Promise<void>;
  maxParameters: number;
  logger: Logger;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkId(id: string): string {
  if (!uuidPattern.test(id)) {
    throw new ApiError(400, 'invalid_id', 'job id must be a UUID', [{ path: 'id', message: 'must be a UUID' }]);
  }
  return id.toLowerCase();
}

/** Submitting and reading jobs, independent of HTTP. */
export function createJobsService({ jobs, enqueue, maxParameters, logger }: JobsServiceDeps) {
  return {
    /** Validates, stores (committed before queueing) and queues a job. */
    async submit(body: unknown): Promise<JobWithEpochs> {
      const parsed = parseJobSpec(body, { maxParameters });
      if (!parsed.ok) {
        const fields = [...new Set(parsed.issues.map((issue) => issue.path))].join(', ');
        throw new ApiError(400, 'invalid_spec', `invalid job spec: ${fields}`, parsed.issues);
      }
      // A job always has a seed, so any run can be repeated exactly.
      const spec = { ...parsed.spec, seed: parsed.spec.seed ?? randomInt(0, 2 ** 32 - 1) };
      const job = await jobs.create({
        id: randomUUID(),
        spec,
        parameterCount: specParameterCount(spec),
        totalSteps: totalSteps(spec),
      });
      logger.info({ jobId: job.id, status: 'queued' }, 'job queued');
      try {
        await enqueue(job.id);
      } catch (error) {
        // The row is the record: the reconciler queues it once the queue is reachable again.
        logger.warn({ jobId: job.id, err: error }, 'could not queue job; the reconciler will retry');
      }
      return job;
    },

    async get(id: string): Promise<JobWithEpochs> {
      const job = await jobs.find(checkId(id));
      if (!job) throw notFound(`job ${id}`);
      return job;
    },

    async history(id: string): Promise<StepRecord[]> {
      const job = await this.get(id);
      return jobs.history(job.id);
    },
  };
}

export type JobsService = ReturnType<typeof createJobsService>;
