import { randomUUID } from 'node:crypto';
import { parseJobSpec, type JobSpecInput } from '../../../src/domain/job-spec.js';
import type { JobRecordsRepository } from '../../../src/store/jobs-repository.js';
import { smallSpec } from '../../helpers/specs.js';

/** Inserts a queued job of the small test spec, with `overrides` applied to the spec. */
export async function queuedJob(jobs: Pick<JobRecordsRepository, 'create'>, overrides: Partial<JobSpecInput> = {}) {
  const parsed = parseJobSpec(smallSpec(overrides), { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error(`bad spec: ${JSON.stringify(parsed.issues)}`);
  return jobs.create({ id: randomUUID(), spec: parsed.spec, parameterCount: 1, totalSteps: 64 });
}

/** Inserts a job and claims it for the returned `owner`, as a worker starting an attempt would. */
export async function runningJob(jobs: Pick<JobRecordsRepository, 'create' | 'claim'>) {
  const job = await queuedJob(jobs);
  const owner = randomUUID();
  const claim = await jobs.claim(job.id, 'cpu', 60_000, owner);
  if (claim.outcome !== 'claimed') throw new Error(`could not claim the job: ${claim.outcome}`);
  return { id: job.id, owner };
}

export async function readAll<T>(pages: AsyncIterable<readonly T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}
