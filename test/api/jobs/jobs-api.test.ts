import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/main/process.js';
import { startApi } from '../../../src/main/start-api.js';
import { trainingQueueName } from '../../../src/queue/training-queue.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { redisUrl, silentLogger, testConfig } from '../../helpers/env.js';
import { smallSpec } from '../../helpers/specs.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import type { HealthReport } from '../../../src/api/health/schemas.js';
import type { HistoryBody } from '../../../src/api/history/schemas.js';
import type { JobView } from '../../../src/api/jobs/schemas.js';

describe('jobs API', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let queue: Queue;

  const post = (body: BodyInit | null, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${api.address}/jobs`, { method: 'POST', body, headers });
  const postJson = (value: unknown) => post(JSON.stringify(value));
  // The body of an answer, typed by the API's own schema of it.
  const bodyOf = async <T>(response: Response) => (await response.json()) as T;

  beforeAll(async () => {
    database = await createTestDatabase('jobs_api');
    const config = testConfig(database.url);
    api = await startApi(config, silentLogger());
    queue = new Queue(trainingQueueName, { connection: { url: redisUrl }, prefix: config.QUEUE_PREFIX });
  });
  afterAll(async () => {
    // The file's Redis keys go with the shared cleanup (test/helpers/redis-cleanup.ts).
    await queue.close();
    await api.close();
    await database.drop();
  });

  it('accepts a job: 201, Location, stored as queued before it is queued', async () => {
    const response = await postJson(smallSpec({ name: 'first' }));
    expect(response.status).toBe(201);
    const job = await bodyOf<JobView>(response);
    expect(response.headers.get('location')).toBe(`/jobs/${job.id}`);
    expect(job).toMatchObject({
      status: 'queued',
      name: 'first',
      dataset: 'mnist',
      parameterCount: 784 * 64 + 64 + 64 * 10 + 10,
      progress: { epoch: 0, step: 0, totalSteps: 32 * 2 },
      metrics: { epochs: [] },
      backend: null,
      error: null,
    });
    expect(job.spec).toMatchObject({ optimizer: 'sgd', seed: 7 });
    const row = await database.prisma.job.findUnique({ where: { id: job.id } });
    expect(row?.status).toBe('queued');
    const message = await queue.getJob(job.id);
    expect(message?.data).toEqual({ jobId: job.id });
  });

  it('gives every job a seed, so any run can be repeated', async () => {
    const { seed: _omitted, ...withoutSeed } = smallSpec();
    const job = await bodyOf<JobView>(await postJson(withoutSeed));
    expect(Number.isInteger(job.spec.seed)).toBe(true);
  });

  it('answers GET /jobs/:id and GET /jobs/:id/history', async () => {
    const created = await bodyOf<JobView>(await postJson(smallSpec()));
    const fetched = await bodyOf<JobView>(await fetch(`${api.address}/jobs/${created.id}`));
    expect(fetched).toMatchObject({
      id: created.id,
      status: 'queued',
      createdAt: created.createdAt,
      startedAt: null,
      finishedAt: null,
    });
    const history = await fetch(`${api.address}/jobs/${created.id}/history`);
    expect(history.status).toBe(200);
    expect(await bodyOf<HistoryBody>(history)).toEqual({
      jobId: created.id,
      count: 0,
      totalSteps: 0,
      downsampling: null,
      steps: [],
    });
  });

  it('rejects an invalid spec with 400 naming every bad field, and stores nothing', async () => {
    const before = await database.prisma.job.count();
    const response = await postJson({ ...smallSpec(), epochs: 0, learningRate: -1, extra: true });
    expect(response.status).toBe(400);
    const body = await bodyOf<ErrorBody>(response);
    expect(body.code).toBe('invalid_spec');
    expect(body.error).toMatch(/epochs/);
    expect(body.issues?.map((issue) => issue.path).sort()).toEqual(['epochs', 'extra', 'learningRate']);
    expect(await database.prisma.job.count()).toBe(before);
  });

  it('rejects a body over 1 MiB with 413', async () => {
    const response = await post(JSON.stringify({ ...smallSpec(), name: 'x'.repeat(1024 * 1024) }));
    expect(response.status).toBe(413);
    expect((await bodyOf<ErrorBody>(response)).code).toBe('body_too_large');
  });

  it('rejects bodies that are not JSON objects with 400 or 415, never 500', async () => {
    const cases: [BodyInit | null, Record<string, string>, number][] = [
      ['{"epochs": ', { 'content-type': 'application/json' }, 400],
      ['', { 'content-type': 'application/json' }, 400],
      ['epochs=3', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
      ['hello', { 'content-type': 'text/plain' }, 415],
      ['[1,2,3]', { 'content-type': 'application/json' }, 400],
      ['"text"', { 'content-type': 'application/json' }, 400],
      ['{"__proto__": {"admin": true}}', { 'content-type': 'application/json' }, 400],
      [null, {}, 400],
    ];
    for (const [body, headers, status] of cases) {
      const response = await post(body, headers);
      expect({ body, status: response.status }).toEqual({ body, status });
      const payload = await bodyOf<ErrorBody>(response);
      expect(typeof payload.error).toBe('string');
      expect(payload).not.toHaveProperty('stack');
    }
  });

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    const unknown = await fetch(`${api.address}/jobs/00000000-0000-4000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    expect((await bodyOf<ErrorBody>(unknown)).code).toBe('not_found');
    const unknownHistory = await fetch(`${api.address}/jobs/00000000-0000-4000-8000-000000000000/history`);
    expect(unknownHistory.status).toBe(404);
    const malformed = await fetch(`${api.address}/jobs/not-a-uuid`);
    expect(malformed.status).toBe(400);
    expect((await bodyOf<ErrorBody>(malformed)).issues).toEqual([{ path: 'id', message: 'must be a UUID' }]);
    expect((await fetch(`${api.address}/jobs/${'a'.repeat(5000)}`)).status).toBeLessThan(500);
  });

  it('honours Idempotency-Key: same key and body give the same job, a different body gives 422', async () => {
    const body = JSON.stringify(smallSpec({ name: 'idempotent' }));
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'key-1' };
    const first = await post(body, headers);
    expect(first.status).toBe(201);
    const job = await bodyOf<JobView>(first);
    // Same body with keys in another order is the same request.
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(body) as object).reverse()));
    const again = await post(reordered, headers);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await bodyOf<JobView>(again)).id).toBe(job.id);
    const different = await post(JSON.stringify(smallSpec({ name: 'other' })), headers);
    expect(different.status).toBe(422);
    expect((await bodyOf<ErrorBody>(different)).code).toBe('idempotency_key_reused');
    expect(await database.prisma.job.count({ where: { name: 'idempotent' } })).toBe(1);
    expect((await post(body, { ...headers, 'idempotency-key': 'x'.repeat(201) })).status).toBe(400);
  });

  it('creates one job for concurrent requests with the same Idempotency-Key', async () => {
    const body = JSON.stringify(smallSpec({ name: 'raced' }));
    const headers = { 'content-type': 'application/json', 'idempotency-key': 'race-key' };
    const responses = await Promise.all(Array.from({ length: 8 }, () => post(body, headers)));
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(201));
    const ids = new Set(await Promise.all(responses.map(async (response) => (await bodyOf<JobView>(response)).id)));
    expect(ids.size).toBe(1);
    expect(await database.prisma.job.count({ where: { name: 'raced' } })).toBe(1);
  });

  it('reports the database and Redis on /health', async () => {
    const response = await fetch(`${api.address}/health`);
    expect(response.status).toBe(200);
    const report = await bodyOf<HealthReport>(response);
    expect(report).toMatchObject({
      status: 'ok',
      database: { ok: true },
      redis: { ok: true },
      training: { workers: 0, backends: [] },
    });
  });
});
