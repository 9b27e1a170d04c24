import http from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import { createPrismaClient, type PrismaClient } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { redisUrl, silentLogger, testConfig } from '../helpers/env.js';
import { startOwnPostgres, startOwnRedis } from '../helpers/own-services.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { smallSpec } from '../helpers/specs.js';
import type { ErrorBody } from '../../src/api/http/common-schemas.js';
import type { HealthReport } from '../../src/api/health/schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';
import { record } from '../helpers/websocket.js';

const longSpec = smallSpec({
  trainSamples: 6000,
  testSamples: 500,
  epochs: 3,
  batchSize: 32,
  model: {
    layers: [
      { type: 'dense', units: 256, activation: 'relu' },
      { type: 'dense', units: 10 },
    ],
  },
});
const totalSteps = Math.ceil(6000 / 32) * 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const report = (fault: string, figures: Record<string, unknown>) =>
  console.log(`[fault] ${fault}: ${JSON.stringify(figures)}`);

function client(address: string) {
  const submit = async (body: unknown = longSpec) => {
    const response = await fetch(`${address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as JobView;
  };
  const getJob = async (id: string) => (await (await fetch(`${address}/jobs/${id}`)).json()) as JobView;
  const waitUntil = async (id: string, done: (job: JobView) => boolean, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const response = await fetch(`${address}/jobs/${id}`).catch(() => null);
      if (response?.ok) {
        const job = (await response.json()) as JobView;
        if (done(job)) return job;
      }
      if (Date.now() > deadline) throw new Error(`job ${id} did not get there in time`);
      await sleep(50);
    }
  };
  return { submit, getJob, waitUntil };
}

async function stepsOf(prisma: PrismaClient, jobId: string): Promise<number[]> {
  return (await prisma.stepLoss.findMany({ where: { jobId }, orderBy: { step: 'asc' }, select: { step: true } })).map(
    (row) => row.step,
  );
}

const everyStep = Array.from({ length: totalSteps }, (_, index) => index + 1);

describe('dependency restarts with real processes', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  async function stack(config: Config): Promise<{ api: Service & { address: string }; worker: ChildService }> {
    const worker = spawnService('worker', config);
    cleanups.push(() => worker.stop('SIGKILL'));
    await worker.waitFor(/worker waiting for jobs/);
    const api = await startApi(config, silentLogger());
    cleanups.push(() => api.close());
    return { api, worker };
  }

  it('keeps every accepted job when Redis restarts empty: running jobs finish, lost ones are queued again', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.stop());
    const database: TestDatabase = await createTestDatabase('redis_restart');
    cleanups.push(() => database.drop());
    const config = testConfig(database.url, {
      REDIS_URL: redis.url,
      RECONCILE_INTERVAL_MS: '1000',
      LOCK_DURATION_MS: '3000',
    });
    const { api } = await stack(config);
    const { submit, waitUntil } = client(api.address);

    const running = await submit();
    await waitUntil(running.id, (job) => job.status === 'running' && job.progress.step > 50);
    const queuedBefore = await submit({ ...longSpec, epochs: 1 });
    await redis.stop();
    const down = Date.now();
    // Accepted while Redis is down: the row is the record, the reconciler queues it later.
    const acceptedWhileDown = await submit({ ...longSpec, epochs: 1 });
    const health = await fetch(`${api.address}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as HealthReport).redis.ok).toBe(false);
    await sleep(1000);
    await redis.start();
    const back = Date.now();

    for (const job of [running, queuedBefore, acceptedWhileDown])
      await waitUntil(job.id, (current) => current.status === 'completed');
    const allDone = Date.now();
    const steps = await stepsOf(database.prisma, running.id);
    expect(steps).toEqual(everyStep);
    expect(await stepsOf(database.prisma, acceptedWhileDown.id)).toHaveLength(totalSteps / 3);
    await waitUntil(running.id, () => true);
    expect((await fetch(`${api.address}/health`)).status).toBe(200);
    // Both sides reconnected by themselves: a new job goes through.
    const after = await submit({ ...longSpec, trainSamples: 500, epochs: 1 });
    await waitUntil(after.id, (job) => job.status === 'completed');
    report('Redis restarted empty', {
      redisDownMs: back - down,
      msFromRedisBackToAllThreeJobsDone: allDone - back,
      runningJobStepsLost: totalSteps - new Set(steps).size,
      runningJobStepsDuplicated: steps.length - new Set(steps).size,
      jobsLost: 0,
    });
  });

  it('holds and retries writes while Postgres restarts, answers 503 meanwhile, and loses no step', async () => {
    const postgres = await startOwnPostgres();
    cleanups.push(() => postgres.destroy());
    const databaseUrl = `${postgres.server}/trainer`;
    await migrate(databaseUrl);
    const prisma = createPrismaClient(databaseUrl, { poolSize: 2 });
    cleanups.push(() => prisma.$disconnect());
    const config = testConfig(databaseUrl, { RECONCILE_INTERVAL_MS: '1000', LOCK_DURATION_MS: '10000' });
    const { api } = await stack(config);
    const { submit, waitUntil } = client(api.address);

    const job = await submit();
    await waitUntil(job.id, (current) => current.status === 'running' && current.progress.step > 60);
    await postgres.stop('immediate');
    const down = Date.now();
    const during = await fetch(`${api.address}/jobs/${job.id}`);
    expect(during.status).toBe(503);
    const body = (await during.json()) as ErrorBody;
    expect(body).toMatchObject({ code: 'database_unavailable' });
    expect(body.error).toMatch(/database.*unavailable/);
    const health = await fetch(`${api.address}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ database: { ok: false }, redis: { ok: true } });
    await sleep(3000);
    await postgres.start();
    const back = Date.now();
    await waitUntil(job.id, () => true, 30_000);
    const apiRecoveredMs = Date.now() - back;
    const done = await waitUntil(job.id, (current) => current.status === 'completed');
    const steps = await stepsOf(prisma, job.id);
    expect(steps).toEqual(everyStep);
    expect(done.attempts).toBe(1);
    report('Postgres restarted mid-training', {
      postgresDownMs: back - down,
      apiAnsweredAgainMsAfterRestart: apiRecoveredMs,
      stepsLost: totalSteps - new Set(steps).size,
      stepsDuplicated: steps.length - new Set(steps).size,
      attempts: done.attempts,
    });
  });

  it('on SIGTERM the API finishes requests in flight, closes WebSockets with 1001 and exits', async () => {
    const database = await createTestDatabase('api_sigterm');
    cleanups.push(() => database.drop());
    const config = testConfig(database.url, { REDIS_URL: redisUrl });
    const api = spawnService('api', config, { PORT: '0' });
    cleanups.push(() => api.stop('SIGKILL'));
    await api.waitFor(/"address":"http:\/\/127\.0\.0\.1:\d+"/);
    const address = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(api.output())?.[1] as string;
    const socket = await record(`${address.replace('http', 'ws')}/events`);
    // A request truly in flight: half its body is sent before SIGTERM, the rest after.
    const body = JSON.stringify(smallSpec());
    const { port } = new URL(address);
    let request: http.ClientRequest | undefined;
    const inFlight = new Promise<number>((resolve, reject) => {
      request = http.request(
        {
          host: '127.0.0.1',
          port: Number(port),
          path: '/jobs',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      request.on('error', reject);
    });
    request?.write(body.slice(0, 20));
    await sleep(300);
    const exit = api.stop('SIGTERM');
    await sleep(200);
    request?.end(body.slice(20));
    expect(await inFlight).toBe(201);
    expect((await socket.closed).code).toBe(1001);
    expect(await exit).toBe(0);
    await expect(fetch(`${address}/health`)).rejects.toThrow();
  });
});
