import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHistoryCache, type HistoryCache } from '../../../src/api/history/history-cache.js';
import type { HistoryBody } from '../../../src/api/history/schemas.js';
import { dashboardHistoryPoints } from '../../../src/domain/history-points.js';
import type { PublishEvent } from '../../../src/events/job-events.js';
import type { JobsRepository } from '../../../src/store/jobs-repository.js';
import { bearer, requiredAccess, testKeys } from '../../helpers/access.js';
import type { TestDatabase } from '../../helpers/database.js';
import { silentLogger } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { startHistoryApi, type HistoryApi } from '../../helpers/history-api.js';

// Finished runs' downsampled histories come from the API's cache, behind the same access check.
describe('cached histories of finished runs', () => {
  let api: HistoryApi;
  let database: TestDatabase;
  let repository: JobsRepository;
  let cache: HistoryCache;
  let app: FastifyInstance;
  let publish: PublishEvent;
  let dropSteps: HistoryApi['dropSteps'];
  const key = { alice: '', bob: '', admin: '' };

  const history = (id: string, who: keyof typeof key, points = 300) =>
    app.inject({ method: 'GET', url: `/jobs/${id}/history?points=${points}`, headers: bearer(key[who]) });

  /** A finished run of alice's: 3 epochs of 1,000 steps. */
  async function aliceRun(): Promise<string> {
    const { id } = await insertFinishedRun(repository, { trainSamples: 1000, batchSize: 1, epochs: 3 });
    await database.prisma.job.update({ where: { id }, data: { owner: 'alice' } });
    return id;
  }

  beforeAll(async () => {
    cache = createHistoryCache(16 * 1024 ** 2);
    api = await startHistoryApi('history_cache', cache, ({ database, redis, prefix }) =>
      requiredAccess(database.prisma, redis, prefix, silentLogger()),
    );
    ({ database, repository, app, publish, dropSteps } = api);
    const keys = testKeys(database.prisma);
    key.alice = (await keys.issue('alice', 'member')).key;
    key.bob = (await keys.issue('bob', 'member')).key;
    key.admin = (await keys.issue('root', 'admin')).key;
  });
  afterAll(() => api?.close());

  it('serves a finished run the same from the cache as from Postgres, and another owner still gets 404', async () => {
    const id = await aliceRun();
    const first = await history(id, 'alice');
    expect(first.statusCode).toBe(200);
    expect(first.json<HistoryBody>()).toMatchObject({ downsampling: 'lttb', count: 300, totalSteps: 3000 });
    await dropSteps(id);
    const cached = await history(id, 'alice');
    expect(cached.statusCode).toBe(200);
    expect(cached.body).toBe(first.body);
    expect(cached.headers['content-type']).toBe(first.headers['content-type']);
    // Bob is refused exactly as for a job that does not exist, though the history is in memory.
    const refused = await history(id, 'bob');
    expect(refused.statusCode).toBe(404);
    expect(refused.json<{ code: string }>().code).toBe('not_found');
    expect(refused.body).not.toContain('"steps"');
    expect((await history(id, 'admin')).body).toBe(first.body);
  });

  it('keys the cache by points and keeps nothing of a run still going', async () => {
    const id = await aliceRun();
    const ofThree = (await history(id, 'alice', 300)).body;
    const ofFifty = (await history(id, 'alice', 50)).json<HistoryBody>();
    expect(ofFifty.count).toBe(50);
    expect(cache.has(id, 300) && cache.has(id, 50)).toBe(true);
    expect((await history(id, 'alice', 300)).body).toBe(ofThree);

    const running = await aliceRun();
    await database.prisma.job.update({ where: { id: running }, data: { status: 'running' } });
    expect((await history(running, 'alice')).json<HistoryBody>().count).toBe(300);
    expect(cache.has(running, 300)).toBe(false);
    await dropSteps(running);
    expect((await history(running, 'alice')).json<HistoryBody>().count).toBe(0);
  });

  it("reads a run's history for the dashboard as soon as its final status is published", async () => {
    const id = await aliceRun();
    publish({ type: 'status', jobId: id, status: 'completed', error: null });
    await vi.waitFor(() => expect(cache.has(id, dashboardHistoryPoints)).toBe(true), { timeout: 10_000 });
    await dropSteps(id);
    const warmed = (await history(id, 'alice', dashboardHistoryPoints)).json<HistoryBody>();
    expect(warmed).toMatchObject({ jobId: id, downsampling: 'lttb', count: dashboardHistoryPoints, totalSteps: 3000 });
  });

  it('forgets a deleted run: its history is gone with it', async () => {
    const id = await aliceRun();
    await history(id, 'alice');
    expect(cache.has(id, 300)).toBe(true);
    const deleted = await app.inject({ method: 'DELETE', url: `/jobs/${id}`, headers: bearer(key.alice) });
    expect(deleted.statusCode).toBe(204);
    expect(cache.has(id, 300)).toBe(false);
    expect((await history(id, 'alice')).statusCode).toBe(404);
  });
});
