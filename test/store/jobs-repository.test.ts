import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCheckpointsRepository,
  createJobDeletionRepository,
  createJobEditsRepository,
  createEpochMetricsRepository,
  createHistorySamplesRepository,
  createIdempotencyKeysRepository,
  createJobRecordsRepository,
  createJobsRepository,
  createKeptCheckpointsRepository,
  createRunListingRepository,
  createStepHistoryRepository,
  type JobsRepository,
} from '../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { queuedJob, readAll } from './jobs/queued-job.js';

// The behaviour of each part is specified in test/store/jobs/; here, that the composition is whole.
describe('jobs repository', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('repository');
    jobs = createJobsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('offers every method of every per-aggregate repository, and nothing else', () => {
    const parts = [
      createJobRecordsRepository,
      createEpochMetricsRepository,
      createStepHistoryRepository,
      createRunListingRepository,
      createCheckpointsRepository,
      createIdempotencyKeysRepository,
      createJobDeletionRepository,
      createHistorySamplesRepository,
      createKeptCheckpointsRepository,
      createJobEditsRepository,
    ].map((create) => Object.keys(create(database.prisma)));
    const names = parts.flat();
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(jobs).sort()).toEqual([...names].sort());
    for (const method of Object.values(jobs)) expect(typeof method).toBe('function');
  });

  it('works through a copy with some methods wrapped, as the job runner makes one', async () => {
    const calls: string[] = [];
    const wrapped: JobsRepository = {
      ...jobs,
      recordSteps: (id, steps) => {
        calls.push('recordSteps');
        return jobs.recordSteps(id, steps);
      },
    };
    const job = await queuedJob(wrapped);
    const owner = randomUUID();
    expect((await wrapped.claim(job.id, 'cpu', 60_000, owner)).outcome).toBe('claimed');
    await wrapped.recordSteps(job.id, [{ step: 1, epoch: 1, loss: 2 }]);
    expect(await readAll(wrapped.historyPages(job.id))).toEqual([{ step: 1, epoch: 1, loss: 2 }]);
    expect(await wrapped.finish(job.id, 'completed', undefined, owner)).toBe('completed');
    expect(calls).toEqual(['recordSteps']);
  });
});
