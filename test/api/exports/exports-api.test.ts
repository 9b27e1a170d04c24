import type { FastifyInstance } from 'fastify';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHistoryCache } from '../../../src/api/history/history-cache.js';
import type { HistoryBody } from '../../../src/api/history/schemas.js';
import type { JobsRepository } from '../../../src/store/jobs-repository.js';
import { bearer, requiredAccess, testKeys } from '../../helpers/access.js';
import type { TestDatabase } from '../../helpers/database.js';
import { silentLogger } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { startHistoryApi, type HistoryApi } from '../../helpers/history-api.js';

type Step = HistoryBody['steps'][number];

/** The steps of a CSV export, parsed back. */
function csvSteps(text: string): Step[] {
  const [header, ...lines] = text.trimEnd().split('\r\n');
  expect(header).toBe('step,epoch,loss');
  return lines.map((line) => {
    const [step, epoch, loss] = line.split(',');
    return { step: Number(step), epoch: Number(epoch), loss: Number(loss) };
  });
}

/** A copy of a body's bytes, as hyparquet reads files. */
const arrayBufferOf = (bytes: Buffer): ArrayBuffer => new Uint8Array(bytes).buffer;

// Exports are read like the JSON routes (an owner's own runs; an admin's, anyone's), and hold the
// same steps, across the pages the store reads (10,000 steps a page for exports).
describe('exports of histories, epochs and runs', () => {
  let api: HistoryApi;
  let database: TestDatabase;
  let repository: JobsRepository;
  let app: FastifyInstance;
  let long: Awaited<ReturnType<typeof insertFinishedRun>>;
  let short: Awaited<ReturnType<typeof insertFinishedRun>>;
  const key = { alice: '', bob: '', admin: '' };
  const get = (url: string, who: keyof typeof key) => app.inject({ method: 'GET', url, headers: bearer(key[who]) });

  beforeAll(async () => {
    api = await startHistoryApi('exports_api', createHistoryCache(0), ({ database, redis, prefix }) =>
      requiredAccess(database.prisma, redis, prefix, silentLogger()),
    );
    ({ database, repository, app } = api);
    const keys = testKeys(database.prisma);
    key.alice = (await keys.issue('alice', 'member')).key;
    key.bob = (await keys.issue('bob', 'member')).key;
    key.admin = (await keys.issue('root', 'admin')).key;
    // 2 epochs of 26,000 steps: 52,000, more than five pages.
    long = await insertFinishedRun(repository, { name: 'long', trainSamples: 26_000, batchSize: 1, epochs: 2 });
    short = await insertFinishedRun(repository, { name: '=short, "quoted"', tags: ['a', 'b'] });
    await database.prisma.job.updateMany({ where: { id: { in: [long.id, short.id] } }, data: { owner: 'alice' } });
  }, 120_000);
  afterAll(() => api?.close());

  it('exports a history as CSV equal step for step to GET /jobs/:id/history', async () => {
    const json = await get(`/jobs/${long.id}/history`, 'alice');
    const csv = await get(`/jobs/${long.id}/history.csv`, 'alice');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe(`attachment; filename="job-${long.id}-history.csv"`);
    const steps = csvSteps(csv.body);
    expect(steps).toHaveLength(52_000);
    expect(steps).toEqual(json.json<HistoryBody>().steps);
  });

  it('exports a history as Parquet that an independent reader reads back step for step', async () => {
    const parquet = await get(`/jobs/${long.id}/history.parquet`, 'alice');
    expect(parquet.statusCode).toBe(200);
    expect(parquet.headers['content-type']).toBe('application/vnd.apache.parquet');
    expect(parquet.headers['content-disposition']).toBe(`attachment; filename="job-${long.id}-history.parquet"`);
    const file = arrayBufferOf(parquet.rawPayload);
    // A row group per page the store read: written and sent one after the other.
    expect(parquetMetadata(file).row_groups.length).toBeGreaterThan(1);
    const rows = await parquetReadObjects({ file });
    expect(rows).toEqual(long.steps);
  });

  it('exports an empty history as a header, or a Parquet file of no rows', async () => {
    const { id } = await insertFinishedRun(repository, { epochs: 1 });
    await api.dropSteps(id);
    expect((await get(`/jobs/${id}/history.csv`, 'admin')).body).toBe('step,epoch,loss\r\n');
    const file = arrayBufferOf((await get(`/jobs/${id}/history.parquet`, 'admin')).rawPayload);
    expect(await parquetReadObjects({ file })).toEqual([]);
  });

  it('exports every epoch of a run as CSV', async () => {
    const epochs = await get(`/jobs/${short.id}/epochs.csv`, 'alice');
    expect(epochs.statusCode).toBe(200);
    expect(epochs.headers['content-disposition']).toBe(`attachment; filename="job-${short.id}-epochs.csv"`);
    expect(epochs.body.split('\r\n')).toEqual([
      'epoch,testAccuracy,testLoss,trainLoss,validationAccuracy,validationLoss,durationMs,samplesPerSecond',
      ...Array.from({ length: short.spec.epochs }, (_, index) => {
        const accuracy = 0.8 + index * 0.05;
        return `${index + 1},${accuracy},${1 - accuracy},0.5,,,1000,2000`;
      }),
      '',
    ]);
  });

  it("exports the run listing with GET /jobs's filters, names defused and quoted", async () => {
    const csv = await get('/jobs.csv?name=short', 'alice');
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-disposition']).toBe('attachment; filename="runs.csv"');
    const [header, line, end] = csv.body.split('\r\n');
    expect(header?.split(',').slice(0, 5)).toEqual(['id', 'name', 'status', 'dataset', 'tags']);
    expect(line?.startsWith(`${short.id},"'=short, ""quoted""",completed,mnist,a;b,`)).toBe(true);
    expect(end).toBe('');
    // Every page of the listing, not only the first of GET /jobs.
    const all = await get('/jobs.csv?sort=created&order=asc', 'alice');
    expect(all.body.trimEnd().split('\r\n')).toHaveLength(3);
    expect((await get('/jobs.csv?status=bogus', 'alice')).statusCode).toBe(400);
  });

  it("answers another owner's run 404, as the JSON routes do, and lists none of them", async () => {
    for (const path of ['history.csv', 'history.parquet', 'epochs.csv']) {
      const refused = await get(`/jobs/${long.id}/${path}`, 'bob');
      expect(refused.statusCode).toBe(404);
      expect(refused.json<{ code: string }>().code).toBe('not_found');
      expect((await get(`/jobs/${long.id}/${path}`, 'admin')).statusCode).toBe(200);
    }
    expect((await get('/jobs.csv', 'bob')).body.trimEnd().split('\r\n')).toHaveLength(1);
    expect((await app.inject({ method: 'GET', url: `/jobs/${long.id}/history.csv` })).statusCode).toBe(401);
    expect((await get('/jobs/not-a-uuid/history.csv', 'alice')).statusCode).toBe(400);
  });
});
