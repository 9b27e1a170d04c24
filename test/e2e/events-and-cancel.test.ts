import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { smallSpec } from '../helpers/specs.js';
import type { ErrorBody } from '../../src/api/http/common-schemas.js';
import type { HistoryBody } from '../../src/api/history/schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';
import { record, stepsOf } from '../helpers/websocket.js';

const sequence = (count: number) => Array.from({ length: count }, (_, index) => index + 1);

describe('live events and cancel across processes', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  // A second API process's worth of app, as behind a load balancer: events reach it through Redis.
  let otherApi: Service & { address: string };
  let worker: ChildService;
  let wsBase: string;

  beforeAll(async () => {
    database = await createTestDatabase('events');
    const config = testConfig(database.url, { WORKER_CONCURRENCY: '1', STEP_FLUSH_MS: '100' });
    worker = spawnService('worker', config);
    await worker.waitFor(/worker waiting for jobs/);
    api = await startApi(config, silentLogger());
    otherApi = await startApi(config, silentLogger());
    wsBase = api.address.replace(/^http/, 'ws');
  });
  afterAll(async () => {
    await otherApi?.close();
    await api?.close();
    await worker?.stop();
    await database?.drop();
  });

  const submit = async (overrides: Parameters<typeof smallSpec>[0]) => {
    const response = await fetch(`${api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(smallSpec(overrides)),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as JobView;
  };
  const getJob = async (id: string) => (await (await fetch(`${api.address}/jobs/${id}`)).json()) as JobView;
  const waitUntil = async (id: string, done: (job: JobView) => boolean) => {
    for (;;) {
      const job = await getJob(id);
      if (done(job)) return job;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const cancel = (id: string) => fetch(`${api.address}/jobs/${id}/cancel`, { method: 'POST' });

  // Long enough (about 3 s on wasm) to join mid-way and to cancel while running.
  const longJob: Parameters<typeof smallSpec>[0] = {
    trainSamples: 12_000,
    testSamples: 500,
    epochs: 3,
    batchSize: 32,
    model: {
      layers: [
        { type: 'dense', units: 256, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    },
  };

  it('streams every step once, in order, to a subscriber that joins mid-training (on another API) and to one that joins after', async () => {
    const job = await submit(longJob);
    const total = Math.ceil(12_000 / 32) * 3;
    await waitUntil(job.id, (current) => current.progress.step > 50);
    const midway = await record(`${otherApi.address.replace(/^http/, 'ws')}/jobs/${job.id}/events`);
    const resumed = await record(`${wsBase}/jobs/${job.id}/events?since=100`);
    const close = await midway.closed;
    await resumed.closed;
    expect(close.code).toBe(1000);

    const late = await record(`${wsBase}/jobs/${job.id}/events`);
    expect((await late.closed).code).toBe(1000);

    for (const { messages } of [midway, late]) {
      expect(stepsOf(messages).map((step) => step.step)).toEqual(sequence(total));
      const seqs = messages.map((message) => message.seq as number);
      expect(seqs).toEqual(sequence(seqs.length));
      expect(messages.filter((message) => message.type === 'epoch').map((message) => message.epoch)).toEqual([1, 2, 3]);
      expect(messages.at(-1)).toMatchObject({ type: 'status', status: 'completed', error: null });
      // An epoch's metrics follow its last step.
      const firstEpoch = messages.findIndex((message) => message.type === 'epoch');
      expect(stepsOf(messages.slice(0, firstEpoch)).at(-1)?.step).toBe(total / 3);
    }
    expect(stepsOf(resumed.messages).map((step) => step.step)).toEqual(sequence(total).slice(100));
    const history = (await (await fetch(`${api.address}/jobs/${job.id}/history`)).json()) as HistoryBody;
    expect(stepsOf(late.messages)).toEqual(history.steps);
  });

  it('feeds /events with status and epoch events of every job', async () => {
    const all = await record(`${wsBase}/events`);
    const job = await submit({ trainSamples: 500, testSamples: 100, epochs: 2 });
    await waitUntil(job.id, (current) => current.status === 'completed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    all.socket.close();
    const mine = all.messages.filter((message) => message.jobId === job.id);
    expect(
      mine.map((message) => (message.type === 'status' ? message.status : `epoch ${message.epoch as number}`)),
    ).toEqual(['queued', 'running', 'epoch 1', 'epoch 2', 'completed']);
    expect(all.messages.every((message) => message.type !== 'steps')).toBe(true);
  });

  it('sends an epoch again to a client that saw its last step but maybe not its metrics', async () => {
    const job = await submit({ trainSamples: 500, testSamples: 100, epochs: 3, batchSize: 50 });
    await waitUntil(job.id, (current) => current.status === 'completed');
    const epochsAfter = async (since: number) => {
      const stream = await record(`${wsBase}/jobs/${job.id}/events?since=${since}`);
      await stream.closed;
      return stream.messages.filter((message) => message.type === 'epoch').map((message) => message.epoch);
    };
    // Ten steps an epoch: step 10 ends epoch 1, whose metrics follow it.
    expect(await epochsAfter(10)).toEqual([1, 2, 3]);
    expect(await epochsAfter(11)).toEqual([2, 3]);
    expect(await epochsAfter(20)).toEqual([2, 3]);
  });

  it('refuses events of an unknown job before the upgrade', async () => {
    await expect(record(`${wsBase}/jobs/00000000-0000-4000-8000-000000000000/events`)).rejects.toThrow('HTTP 404');
    await expect(record(`${wsBase}/jobs/nope/events`)).rejects.toThrow('HTTP 400');
  });

  it('cancels a running job within 2 seconds, keeping the history it had', async () => {
    const job = await submit(longJob);
    await waitUntil(job.id, (current) => current.status === 'running' && current.progress.step > 20);
    const asked = Date.now();
    const response = await cancel(job.id);
    expect([200, 202]).toContain(response.status);
    const ended = await waitUntil(job.id, (current) => current.status !== 'running');
    expect(Date.now() - asked).toBeLessThan(2000);
    expect(ended.status).toBe('cancelled');
    expect(ended.progress.step).toBeLessThan(ended.progress.totalSteps);
    const history = (await (await fetch(`${api.address}/jobs/${job.id}/history`)).json()) as HistoryBody;
    expect(history.steps.map((step) => step.step)).toEqual(sequence(history.count));
    expect(history.count).toBeGreaterThan(20);
    expect((await cancel(job.id)).status).toBe(409);
  });

  it('cancels a queued job so it never starts, and refuses to cancel a finished one', async () => {
    const blocker = await submit(longJob);
    await waitUntil(blocker.id, (current) => current.status === 'running');
    const queued = await submit({ trainSamples: 500, testSamples: 100, epochs: 1 });
    const response = await cancel(queued.id);
    expect(response.status).toBe(200);
    expect(((await response.json()) as JobView).status).toBe('cancelled');
    await cancel(blocker.id);
    await waitUntil(blocker.id, (current) => current.status === 'cancelled');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await database.prisma.job.findUnique({ where: { id: queued.id } });
    expect(after).toMatchObject({ status: 'cancelled', startedAt: null, attempts: 0 });

    const finished = await submit({ trainSamples: 200, testSamples: 100, epochs: 1 });
    await waitUntil(finished.id, (current) => current.status === 'completed');
    const refused = await cancel(finished.id);
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as ErrorBody).error).toMatch(/already completed/);
    expect((await cancel('00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
