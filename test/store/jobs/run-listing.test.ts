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

describe('run listing repository, a name search over many runs', () => {
  let database: TestDatabase;
  let listing: RunListingRepository;
  beforeAll(async () => {
    database = await createTestDatabase('run_listing_names');
    const jobs = createJobsRepository(database.prisma);
    listing = createRunListingRepository(database.prisma);
    const { id } = await insertFinishedRun(jobs, { name: 'template', epochs: 1 }, { accuracies: [0.5] });
    // 7,000 runs, created a millisecond apart; every 3,000th is a "hit". More than a search first
    // reads in order, so pages near the end and rare names are found through the index.
    await database.prisma.$executeRaw`
      INSERT INTO jobs (id, name, dataset, spec, status, parameter_count, total_steps, step, epoch, tags, owner,
                        best_test_accuracy, created_at, updated_at)
      SELECT gen_random_uuid(), 'bulk ' || n || CASE WHEN n % 3000 = 0 THEN ' hit' ELSE '' END, t.dataset, t.spec,
             t.status, t.parameter_count, t.total_steps, t.step, t.epoch, t.tags, t.owner, (n % 1000) / 1000.0,
             timestamp '2020-01-01' + n * interval '1 millisecond', now()
      FROM jobs t, generate_series(1, 7000) AS n WHERE t.id = ${id}::uuid`;
    await database.prisma.$executeRaw`ANALYZE jobs`;
  });
  afterAll(() => database.drop());

  /** Every page of a search, followed through its cursors. */
  async function allPages(query: RunQuery): Promise<(string | null)[]> {
    const seen: (string | null)[] = [];
    for (let page = await listing.listRuns(query); ;) {
      seen.push(...page.runs.map((run) => run.name));
      const last = page.runs.at(-1);
      if (!page.more || !last) return seen;
      page = await listing.listRuns({ ...query, after: { key: page.keys.at(-1) ?? 0, id: last.id } });
    }
  }

  it('pages through every match in order, near the start of the order and far past it', async () => {
    // The first runs in order hold one hit; the second lies past them.
    expect(await allPages({ nameContains: 'HIT', sort: 'created', order: 'asc', limit: 2 })).toEqual([
      'bulk 3000 hit',
      'bulk 6000 hit',
    ]);
    expect(await allPages({ nameContains: 'hit', sort: 'created', order: 'desc', limit: 1 })).toEqual([
      'bulk 6000 hit',
      'bulk 3000 hit',
    ]);
    const ones = await allPages({ nameContains: 'bulk 1', sort: 'created', order: 'asc', limit: 100 });
    expect(ones).toHaveLength(1111);
    expect(ones.slice(0, 3)).toEqual(['bulk 1', 'bulk 10', 'bulk 11']);
  });

  it('finds a rare name wherever it is in the order, and nothing for a name no run has', async () => {
    const rare = await listing.listRuns({ nameContains: 'bulk 6999', sort: 'created', order: 'asc', limit: 20 });
    expect(rare.runs.map((run) => run.name)).toEqual(['bulk 6999']);
    expect(rare.more).toBe(false);
    const none = await listing.listRuns({ nameContains: 'no such run', sort: 'bestAccuracy', order: 'desc', limit: 5 });
    expect(none.runs).toEqual([]);
  });

  it('keeps a search sorted by another key in that order', async () => {
    const byAccuracy = await allPages({ nameContains: '99', sort: 'bestAccuracy', order: 'desc', limit: 50 });
    const matching = Array.from({ length: 7000 }, (_, index) => `${index + 1}`).filter((n) => n.includes('99'));
    expect(byAccuracy).toHaveLength(matching.length);
    const accuracies = byAccuracy.map((name) => Number(name?.split(' ')[1]) % 1000);
    expect(accuracies).toEqual([...accuracies].sort((a, b) => b - a));
  });
});
