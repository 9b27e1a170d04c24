import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/http/app.js';
import type { EventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createModelsRepository } from '../../../src/store/models-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger } from '../../helpers/env.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';
import { storedJob, storedModel } from '../models/model-fixtures.js';

const unsubscribed = () => Promise.resolve(() => Promise.resolve());
const quietHub: EventHub = { subscribeJob: unsubscribed, subscribeAll: unsubscribed, onReconnect: () => undefined };

describe('DELETE /jobs/:id', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let jobs: JobsRepository;

  const remove = (id: string) => app.inject({ method: 'DELETE', url: `/jobs/${id}` });
  const count = async (table: string, jobId?: string) => {
    const where = jobId ? ` WHERE job_id = '${jobId}'` : '';
    const rows = await database.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM ${table}${where}`);
    return Number(rows[0]?.n);
  };

  beforeAll(async () => {
    database = await createTestDatabase('job_deletion');
    jobs = createJobsRepository(database.prisma);
    const logger = silentLogger();
    app = buildApp({
      logger,
      bodyLimit: 1024 * 1024,
      hub: quietHub,
      health: healthyChecks,
      jobs: createJobsService({ jobs, ...idleQueue, maxParameters: 20_000_000, maxJobMemoryBytes: 2 ** 31, logger }),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  it('removes an ended job with its history, metrics, models and their artifacts: 204, then 404', async () => {
    const job = await storedJob(jobs);
    await jobs.recordSteps(job.id, [
      { step: 1, epoch: 1, loss: 2.3 },
      { step: 2, epoch: 1, loss: 2.1 },
    ]);
    await jobs.recordEpoch(job.id, {
      epoch: 1,
      testAccuracy: 0.5,
      testLoss: 1.5,
      trainLoss: 2.2,
      durationMs: 10,
      samplesPerSecond: 100,
    });
    const stores = {
      models: createModelsRepository(database.prisma),
      artifacts: createPostgresArtifactStore(database.prisma),
    };
    await storedModel(stores, job.id, 'final', 1);
    await storedModel(stores, job.id, 'best', 2);
    const other = await storedJob(jobs);
    await storedModel(stores, other.id, 'final', 3);
    expect(await count('artifacts')).toBe(6);

    const response = await remove(job.id);
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect((await app.inject({ method: 'GET', url: `/jobs/${job.id}` })).statusCode).toBe(404);
    for (const table of ['step_losses', 'epoch_metrics', 'models']) expect(await count(table, job.id), table).toBe(0);
    // The other job's model and its two artifacts stay.
    expect(await count('artifacts')).toBe(2);
    expect(await count('models', other.id)).toBe(1);
    expect((await remove(job.id)).statusCode).toBe(404);
  });

  it('refuses a queued or running job with 409 saying to cancel it first', async () => {
    for (const status of ['queued', 'running'] as const) {
      const job = await storedJob(jobs, status);
      const response = await remove(job.id);
      expect(response.statusCode).toBe(409);
      const body = response.json<ErrorBody>();
      expect(body.code).toBe('job_active');
      expect(body.error).toMatch(new RegExp(`is ${status}; cancel it first`));
      expect(await jobs.find(job.id)).not.toBeNull();
    }
  });

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    expect((await remove('00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
    expect((await remove('nope')).statusCode).toBe(400);
  });

  it('deletes a 1,000,000-step job in seconds while the API keeps answering', async () => {
    const job = await storedJob(jobs);
    await database.prisma.$executeRawUnsafe(
      // Steps are stored in chunks of consecutive losses (see store/jobs/step-chunks.ts).
      `INSERT INTO step_chunks (job_id, first_step, epoch, losses_f64)
       SELECT '${job.id}', c * 240 + 1, 1 + (c * 240) / 10000,
              ARRAY(SELECT 1.0 / s FROM generate_series(c * 240 + 1, least(c * 240 + 240, 1000000)) AS s)
       FROM generate_series(0, 4166) AS c`,
    );
    const other = await storedJob(jobs);
    const started = performance.now();
    const deleting = remove(job.id);
    // Another job is read while the delete runs.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const readStarted = performance.now();
    expect((await app.inject({ method: 'GET', url: `/jobs/${other.id}` })).statusCode).toBe(200);
    const readMs = performance.now() - readStarted;
    expect((await deleting).statusCode).toBe(204);
    const deleteMs = performance.now() - started;
    console.log(
      `deleted 1,000,000 steps in ${Math.round(deleteMs)} ms; a read meanwhile took ${Math.round(readMs)} ms`,
    );
    expect(await count('step_losses', job.id)).toBe(0);
    expect(deleteMs).toBeLessThan(20_000);
    expect(readMs).toBeLessThan(1000);
  }, 120_000);
});
