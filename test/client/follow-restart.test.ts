import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainerClient, unwrap, type ConnectionChange, type TrainerClient } from '@trainer/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testConfig } from '../helpers/env.js';
import { freePort } from '../helpers/own-services.js';
import { spawnService, type ChildService } from '../helpers/processes.js';

// A job followed while its API process is killed and started again on the same port: the client
// reconnects with backoff from the last step it saw, and gets every step and epoch exactly once.

async function until(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('following a job through an API restart', () => {
  let database: TestDatabase;
  let worker: ChildService;
  let api: ChildService;
  let startApi: () => Promise<ChildService>;
  let trainer: TrainerClient;

  beforeAll(async () => {
    database = await createTestDatabase('client_restart');
    const port = await freePort();
    const config = testConfig(database.url, { PORT: String(port) });
    worker = spawnService('worker', config);
    startApi = async () => {
      const started = spawnService('api', config);
      await started.waitFor(/api listening/);
      return started;
    };
    [api] = await Promise.all([startApi(), worker.waitFor(/worker waiting for jobs/)]);
    trainer = createTrainerClient({ baseUrl: `http://127.0.0.1:${port}`, WebSocket });
  });
  afterAll(async () => {
    await api?.stop('SIGKILL');
    await worker?.stop();
    await database?.drop();
  });

  it('reconnects from the last step seen and misses and repeats nothing', async () => {
    const job = await unwrap(
      trainer.api.POST('/jobs', {
        body: {
          name: 'through a restart',
          trainSamples: 12000,
          testSamples: 500,
          epochs: 2,
          learningRate: 0.05,
          batchSize: 16,
          model: {
            layers: [
              { type: 'dense', units: 64, activation: 'relu' },
              { type: 'dense', units: 10 },
            ],
          },
        },
      }),
    );
    const steps: number[] = [];
    const epochs: number[] = [];
    const changes: ConnectionChange[] = [];
    const followed = trainer.followJob(job.id, {
      backoff: { initialDelayMs: 100, maxDelayMs: 1000 },
      onConnection: (change) => changes.push(change),
      onMessage: (message) => {
        if (message.type === 'steps') steps.push(...message.steps.map((step) => step.step));
        else if (message.type === 'epoch') epochs.push(message.epoch);
      },
    });

    await until(() => steps.length >= 50, 'the first steps');
    await api.stop('SIGKILL');
    const stepsBeforeRestart = steps.length;
    // Down long enough that connecting fails a few times, each later than the one before.
    await until(() => changes.filter((change) => change.retryInMs !== null).length >= 3, 'failed reconnections');
    api = await startApi();
    const final = await followed.finished;

    expect(final).toMatchObject({ status: 'completed' });
    const total = (await unwrap(trainer.api.GET('/jobs/{id}', { params: { path: { id: job.id } } }))).progress
      .totalSteps;
    expect(steps).toEqual(Array.from({ length: total }, (_, index) => index + 1));
    expect(steps.length).toBeGreaterThan(stepsBeforeRestart);
    expect(epochs).toEqual([1, 2]);
    const delays = changes.flatMap((change) => (change.retryInMs === null ? [] : [change.retryInMs]));
    expect(delays.length).toBeGreaterThanOrEqual(3);
    expect(delays[2]!).toBeGreaterThan(delays[0]!);
    expect(changes.at(-2)?.state).toBe('live');
    expect(changes.at(-1)?.state).toBe('closed');
  });
});
