import { createTrainerClient, unwrap, type TrainerClient } from '@trainer/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testConfig } from '../helpers/env.js';
import { freePort } from '../helpers/own-services.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { smallSpec } from '../helpers/specs.js';

// `trainer follow` while its API process is killed and started again on the same port: the CLI
// reports the lost connection, retries with backoff, and follows the job to its end, exit 0.
describe('trainer following through an API restart', () => {
  let database: TestDatabase;
  let worker: ChildService;
  let api: ChildService;
  let startApi: () => Promise<ChildService>;
  let trainer: TrainerClient;
  let url: string;

  beforeAll(async () => {
    database = await createTestDatabase('cli_restart');
    const port = await freePort();
    const config = testConfig(database.url, { PORT: String(port) });
    worker = spawnService('worker', config);
    startApi = async () => {
      const started = spawnService('api', config);
      await started.waitFor(/api listening/);
      return started;
    };
    [api] = await Promise.all([startApi(), worker.waitFor(/worker waiting for jobs/)]);
    url = `http://127.0.0.1:${port}`;
    trainer = createTrainerClient({ baseUrl: url, WebSocket });
  });
  afterAll(async () => {
    await api?.stop('SIGKILL');
    await worker?.stop();
    await database?.drop();
  });

  it('reports the lost connection, reconnects and ends with the summary and exit 0', async () => {
    const job = await unwrap(
      trainer.api.POST('/jobs', {
        body: smallSpec({ name: 'through a restart', trainSamples: 12_000, batchSize: 16, epochs: 2 }),
      }),
    );
    const following = runCli(['follow', job.id], { TRAINER_URL: url });
    for (;;) {
      const current = await unwrap(trainer.api.GET('/jobs/{id}', { params: { path: { id: job.id } } }));
      if (current.progress.step >= 50) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await api.stop('SIGKILL');
    // Down long enough for a few failed connections.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    api = await startApi();
    const run = await following;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/connection lost \(.+\); trying again in \d+\.\d s \(attempt 1\)/);
    expect(run.stderr).toContain('reconnected');
    expect(run.stdout).toMatch(/^epoch 2\/2 /m);
    expect(run.stdout).toMatch(/through a restart completed/);
  });
});
