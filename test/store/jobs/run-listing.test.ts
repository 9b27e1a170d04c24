import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJobsRepository,
  createRunListingRepository,
  type JobsRepository,
  type RunListingRepository,
  type RunQuery,
} from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';

describe('run listing repository', () => {
  let database: TestDatabase;
  let listing: RunListingRepository;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    database = await createTestDatabase('run_listing');
    const jobs: JobsRepository = createJobsRepository(database.prisma);
    listing = createRunListingRepository(database.prisma);
    const runs = [
      { name: 'alpha 100%', tags: ['wide'], accuracy: 0.8, status: 'completed' },
      { name: 'beta', tags: ['wide', 'deep'], accuracy: 0.9, status: 'failed' },
      { name: 'gamma', tags: ['deep'], accuracy: 0.85, status: 'completed' },
    ] as const;
    for (const run of runs) {
      const { id } = await insertFinishedRun(
        jobs,
        { name: run.name, tags: [...run.tags], epochs: 1 },
        { accuracies: [run.accuracy], status: run.status },
      );
      ids[run.name] = id;
    }
  });
  afterAll(() => database.drop());

  const query = (overrides: Partial<RunQuery> = {}): RunQuery => ({
    sort: 'created',
    order: 'asc',
    limit: 10,
    ...overrides,
  });
  const names = (page: { runs: { name: string | null }[] }) => page.runs.map((run) => run.name);

  it('sorts by a key and pages with the last row as cursor, saying whether more follow', async () => {
    const first = await listing.listRuns(query({ sort: 'finalAccuracy', order: 'desc', limit: 2 }));
    expect(names(first)).toEqual(['beta', 'gamma']);
    expect(first.keys).toEqual([0.9, 0.85]);
    expect(first.more).toBe(true);
    const after = { key: first.keys[1] ?? 0, id: first.runs[1]?.id ?? '' };
    const second = await listing.listRuns(query({ sort: 'finalAccuracy', order: 'desc', limit: 2, after }));
    expect(names(second)).toEqual(['alpha 100%']);
    expect(second.more).toBe(false);
  });

  it('filters by status, dataset, tag and a name substring in which % and _ are plain characters', async () => {
    expect(names(await listing.listRuns(query({ statuses: ['completed'] })))).toEqual(['alpha 100%', 'gamma']);
    expect(names(await listing.listRuns(query({ tag: 'deep' })))).toEqual(['beta', 'gamma']);
    expect(names(await listing.listRuns(query({ nameContains: 'A 1' })))).toEqual(['alpha 100%']);
    expect(names(await listing.listRuns(query({ nameContains: '%' })))).toEqual(['alpha 100%']);
    expect(names(await listing.listRuns(query({ nameContains: '_' })))).toEqual([]);
    expect(names(await listing.listRuns(query({ dataset: 'mnist' })))).toEqual(['alpha 100%', 'beta', 'gamma']);
    expect(names(await listing.listRuns(query({ dataset: 'fashion-mnist' })))).toEqual([]);
  });

  it('returns each run with its count of epochs and only what a summary shows of its spec', async () => {
    const page = await listing.listRuns(query({ tag: 'wide', sort: 'bestAccuracy' }));
    expect(page.runs.map((run) => run.id)).toEqual([ids['alpha 100%'], ids.beta]);
    for (const run of page.runs) {
      expect(run.epochCount).toBe(1);
      expect(run.spec).toEqual({
        dataset: 'mnist',
        model: {
          layers: [
            { type: 'dense', units: 64, activation: 'relu' },
            { type: 'dense', units: 10, activation: 'linear' },
          ],
        },
        epochs: 1,
        learningRate: 0.05,
        batchSize: 64,
        optimizer: 'sgd',
      });
    }
  });
});
