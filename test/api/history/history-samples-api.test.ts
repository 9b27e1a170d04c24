import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lttb } from '../../../src/history/downsample.js';
import { createHistoryCache } from '../../../src/api/history/history-cache.js';
import type { HistoryBody } from '../../../src/api/history/schemas.js';
import { dashboardHistoryPoints } from '../../../src/domain/history-points.js';
import type { PublishEvent } from '../../../src/events/job-events.js';
import type { JobsRepository } from '../../../src/store/jobs-repository.js';
import type { TestDatabase } from '../../helpers/database.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { startHistoryApi, type HistoryApi } from '../../helpers/history-api.js';

// Finished runs' histories downsampled to the dashboard's points are stored in Postgres, so an API
// process whose cache is empty (here: one that keeps none) answers the run page from one row.
describe('stored samples of finished runs', () => {
  let api: HistoryApi;
  let database: TestDatabase;
  let repository: JobsRepository;
  let app: FastifyInstance;
  let publish: PublishEvent;
  let dropSteps: HistoryApi['dropSteps'];

  const history = (id: string, points = dashboardHistoryPoints) =>
    app.inject({ method: 'GET', url: `/jobs/${id}/history?points=${points}` });

  /** A finished run of 3 epochs of 1,000 steps: more than the dashboard's points. */
  const finishedRun = () => insertFinishedRun(repository, { trainSamples: 1000, batchSize: 1, epochs: 3 });

  const storedRows = async (id: string) =>
    (
      await database.prisma.$queryRaw<{ points: number }[]>`
        SELECT points FROM history_samples WHERE job_id = ${id}::uuid ORDER BY points`
    ).map((row) => row.points);

  beforeAll(async () => {
    // Keeps nothing in memory: every read is a fresh process's first.
    api = await startHistoryApi('history_samples_api', createHistoryCache(0));
    ({ database, repository, app, publish, dropSteps } = api);
  });
  afterAll(() => api?.close());

  it("stores a finished run's sample on its first read and answers from it the same bytes as computing it", async () => {
    const { id, steps } = await finishedRun();
    expect(await storedRows(id)).toEqual([]);
    const computed = await history(id);
    expect(computed.statusCode).toBe(200);
    const body = computed.json<HistoryBody>();
    expect(body).toMatchObject({ jobId: id, downsampling: 'lttb', count: dashboardHistoryPoints, totalSteps: 3000 });
    // What LTTB gives for the whole history, computed here from the steps written.
    const expected = lttb(
      steps,
      dashboardHistoryPoints,
      (step) => step.step,
      (step) => step.loss,
    );
    expect(body.steps).toEqual(expected);
    expect(await storedRows(id)).toEqual([dashboardHistoryPoints]);

    await dropSteps(id);
    const stored = await history(id);
    expect(stored.statusCode).toBe(200);
    expect(stored.body).toBe(computed.body);
  });

  it('stores the sample when the run ends, before anyone reads it', async () => {
    const { id, steps } = await finishedRun();
    publish({ type: 'status', jobId: id, status: 'completed', error: null });
    await vi.waitFor(async () => expect(await storedRows(id)).toEqual([dashboardHistoryPoints]), { timeout: 10_000 });
    await dropSteps(id);
    const body = (await history(id)).json<HistoryBody>();
    expect(body).toMatchObject({ downsampling: 'lttb', count: dashboardHistoryPoints, totalSteps: 3000 });
    expect(body.steps).toEqual(
      lttb(
        steps,
        dashboardHistoryPoints,
        (step) => step.step,
        (step) => step.loss,
      ),
    );
  });

  it('never answers from a stored sample while the run is not finished, nor stores one', async () => {
    const { id, steps } = await finishedRun();
    await history(id);
    expect(await storedRows(id)).toEqual([dashboardHistoryPoints]);
    // Back to running (as a job never goes, but the read must not trust a sample of one that does).
    await database.prisma.job.update({ where: { id }, data: { status: 'running' } });
    await database.prisma.$executeRaw`UPDATE history_samples SET losses[1] = 42 WHERE job_id = ${id}::uuid`;
    const read = (await history(id)).json<HistoryBody>();
    expect(read.steps[0]?.loss).toBe(steps[0]?.loss);
    await database.prisma.$executeRaw`DELETE FROM history_samples WHERE job_id = ${id}::uuid`;
    await history(id);
    expect(await storedRows(id)).toEqual([]);
  });

  it("stores only the dashboard's points, and nothing for a history short enough to send whole", async () => {
    const { id } = await finishedRun();
    expect((await history(id, 300)).json<HistoryBody>().count).toBe(300);
    expect(await storedRows(id)).toEqual([]);
    const short = await insertFinishedRun(repository, { trainSamples: 500, batchSize: 1, epochs: 2 });
    expect((await history(short.id)).json<HistoryBody>()).toMatchObject({ downsampling: null, count: 1000 });
    expect(await storedRows(short.id)).toEqual([]);
  });

  it('removes the stored sample with its run', async () => {
    const { id } = await finishedRun();
    await history(id);
    expect(await storedRows(id)).toEqual([dashboardHistoryPoints]);
    expect((await app.inject({ method: 'DELETE', url: `/jobs/${id}` })).statusCode).toBe(204);
    expect(await storedRows(id)).toEqual([]);
    expect((await history(id)).statusCode).toBe(404);
  });
});
