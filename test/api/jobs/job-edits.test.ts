import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/main/process.js';
import { startApi } from '../../../src/main/start-api.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import type { JobView, RunList } from '../../../src/api/jobs/schemas.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger, testConfig } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';

describe('PATCH /jobs/:id: what a run says about itself', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let jobs: JobsRepository;

  beforeAll(async () => {
    database = await createTestDatabase('job_edits');
    jobs = createJobsRepository(database.prisma);
    api = await startApi(testConfig(database.url), silentLogger());
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  async function call<T = ErrorBody>(method: string, path: string, body?: unknown) {
    const response = await fetch(`${api.address}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  it('sets name, tags, notes and pinned, records the time, and keeps the spec as submitted', async () => {
    const run = await insertFinishedRun(jobs, { name: 'before', tags: ['a'] }, { accuracies: [0.8] });
    const before = (await call<JobView>('GET', `/jobs/${run.id}`)).body;
    const notes = '# Why\nThe rate was **too high**.';
    const edited = await call<JobView>('PATCH', `/jobs/${run.id}`, {
      name: 'after',
      tags: ['b', 'c'],
      notes,
      pinned: true,
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ name: 'after', tags: ['b', 'c'], notes, pinned: true, status: 'completed' });
    expect(edited.body.spec).toEqual(before.spec);
    expect(Date.parse(edited.body.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));
    expect((await call<JobView>('GET', `/jobs/${run.id}`)).body).toMatchObject({ notes, pinned: true });

    const cleared = await call<JobView>('PATCH', `/jobs/${run.id}`, { notes: null });
    expect(cleared.body).toMatchObject({ name: 'after', notes: null, pinned: true });
  });

  it('lists pinned runs, and finds runs by their notes', async () => {
    const pinned = await insertFinishedRun(jobs, { name: 'pinned one' }, { accuracies: [0.7] });
    const noted = await insertFinishedRun(jobs, { name: 'noted one' }, { accuracies: [0.7] });
    await call('PATCH', `/jobs/${pinned.id}`, { pinned: true });
    await call('PATCH', `/jobs/${noted.id}`, { notes: 'a 100%_needle in the notes' });
    const pinnedRuns = (await call<RunList>('GET', '/jobs?pinned=true&limit=100')).body.runs;
    expect(pinnedRuns.map((listed) => listed.id)).toContain(pinned.id);
    expect(pinnedRuns.every((listed) => listed.pinned)).toBe(true);
    const unpinned = (await call<RunList>('GET', '/jobs?pinned=false&limit=100')).body.runs;
    expect(unpinned.map((listed) => listed.id)).not.toContain(pinned.id);
    expect((await call<RunList>('GET', '/jobs?notes=100%25_NEEDLE')).body.runs.map((listed) => listed.id)).toEqual([
      noted.id,
    ]);
    expect((await call<RunList>('GET', '/jobs?notes=100%25xneedle')).body.runs).toEqual([]);
  });

  it('refuses a bad edit naming the field, and an unknown job', async () => {
    const run = await insertFinishedRun(jobs, { name: 'strict' }, { accuracies: [0.7] });
    const long = await call('PATCH', `/jobs/${run.id}`, { notes: 'x'.repeat(10_001) });
    expect(long.status).toBe(400);
    expect(long.body.issues?.map((issue) => issue.path)).toEqual(['notes']);
    expect((await call('PATCH', `/jobs/${run.id}`, { notes: 'x'.repeat(10_000) })).status).toBe(200);
    const spec = await call('PATCH', `/jobs/${run.id}`, { spec: { epochs: 9 } });
    expect(spec.status).toBe(400);
    expect(JSON.stringify(spec.body)).toContain('spec');
    expect((await call('PATCH', `/jobs/${run.id}`, {})).status).toBe(400);
    expect((await call('PATCH', `/jobs/${run.id}`, { pinned: 'yes' })).body.issues?.[0]?.path).toBe('pinned');
    expect((await call('PATCH', '/jobs/00000000-0000-4000-8000-000000000000', { pinned: true })).status).toBe(404);
  });
});
