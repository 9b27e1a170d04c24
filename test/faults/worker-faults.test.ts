import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import type { Config } from '../../src/config.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { smallSpec } from '../helpers/specs.js';

interface JobBody {
  id: string;
  status: string;
  attempts: number;
  error: string | null;
  progress: { step: number; totalSteps: number };
}

// About 1 s an epoch on wasm: long enough to be killed in the middle of one.
const spec = smallSpec({
  name: 'fault',
  seed: 42,
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
const stepsPerEpoch = Math.ceil(6000 / 32);
const totalSteps = stepsPerEpoch * 3;

describe('worker faults with real processes', () => {
  let database: TestDatabase;
  let config: Config;
  let api: Service & { address: string };
  const workers: ChildService[] = [];
  let reference: number[];

  const startWorker = async () => {
    const worker = spawnService('worker', config);
    workers.push(worker);
    await worker.waitFor(/worker waiting for jobs/);
    return worker;
  };
  const submit = async () => {
    const response = await fetch(`${api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    return (await response.json()) as JobBody;
  };
  const getJob = async (id: string) => (await (await fetch(`${api.address}/jobs/${id}`)).json()) as JobBody;
  const waitUntil = async (id: string, done: (job: JobBody) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await getJob(id);
      if (done(job)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} stuck at ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const losses = async (id: string) => {
    const rows = await database.prisma.stepLoss.findMany({ where: { jobId: id }, orderBy: { step: 'asc' } });
    return { steps: rows.map((row) => row.step), losses: rows.map((row) => row.loss) };
  };
  const report = (fault: string, figures: Record<string, unknown>) =>
    console.log(`[fault] ${fault}: ${JSON.stringify(figures)}`);

  beforeAll(async () => {
    database = await createTestDatabase('worker_faults');
    // Short locks so a dead worker's job is taken over in seconds rather than half a minute.
    config = testConfig(database.url, {
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      MAX_ATTEMPTS: '3',
      WORKER_CONCURRENCY: '1',
    });
    api = await startApi(config, silentLogger());
    const worker = await startWorker();
    const job = await submit();
    await waitUntil(job.id, (current) => current.status === 'completed');
    reference = (await losses(job.id)).losses;
    await worker.stop();
    workers.length = 0;
  });
  // Each test starts the workers it needs: none is left over to take a job the next test watches.
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop('SIGKILL')));
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('resumes a job whose worker was killed mid-epoch from its checkpoint, every step exactly once', async () => {
    const first = await startWorker();
    const job = await submit();
    await waitUntil(job.id, (current) => current.progress.step > stepsPerEpoch + 60);
    first.child.kill('SIGKILL');
    await first.stop('SIGKILL');
    const killedAt = Date.now();
    const recordedBeforeKill = (await losses(job.id)).steps.length;
    // Epoch 1 ended before the kill: its model is stored, and stays the best unless a later epoch beats it.
    const models = () =>
      database.prisma.trainedModel.findMany({ where: { jobId: job.id }, orderBy: { version: 'asc' } });
    expect((await models()).map((model) => [model.version, model.epoch])).toEqual([
      ['final', 1],
      ['best', 1],
    ]);
    await startWorker();
    const resumed = await waitUntil(job.id, (current) => current.attempts === 2 && current.status === 'running');
    const recoveredMs = Date.now() - killedAt;
    const done = await waitUntil(job.id, (current) => current.status === 'completed');
    const history = await losses(job.id);

    expect(done.attempts).toBe(2);
    expect(history.steps).toEqual(Array.from({ length: totalSteps }, (_, index) => index + 1));
    // Resumed from the end of epoch 1 with the same weights, optimizer and shuffle: the same curve.
    expect(history.losses).toEqual(reference);
    const epochs = await database.prisma.epochMetric.findMany({ where: { jobId: job.id }, orderBy: { epoch: 'asc' } });
    expect(epochs.map((epoch) => epoch.epoch)).toEqual([1, 2, 3]);
    const [final, best] = await models();
    expect(final).toMatchObject({ epoch: 3, testAccuracy: epochs[2]?.testAccuracy });
    expect(best?.testAccuracy).toBe(Math.max(...epochs.map((epoch) => epoch.testAccuracy)));
    report('worker killed with SIGKILL mid-epoch', {
      stepsRecordedBeforeKill: recordedBeforeKill,
      stepsLost: totalSteps - new Set(history.steps).size,
      stepsDuplicated: history.steps.length - new Set(history.steps).size,
      msUntilRunningAgain: recoveredMs,
      attempts: resumed.attempts,
      historyEqualsUninterruptedRun: true,
    });
  });

  it('hands a job back on SIGTERM within 10 s, and another worker resumes it exactly', async () => {
    const worker = await startWorker();
    const job = await submit();
    await waitUntil(job.id, (current) => current.progress.step > stepsPerEpoch + 40);
    const asked = Date.now();
    const exitCode = await worker.stop('SIGTERM');
    const exitMs = Date.now() - asked;
    expect(exitCode).toBe(0);
    expect(exitMs).toBeLessThan(10_000);
    const handedBack = await getJob(job.id);
    expect(handedBack.status).toBe('queued');
    expect(worker.output()).toMatch(/checkpointed and handed back/);

    const next = await startWorker();
    const done = await waitUntil(job.id, (current) => current.status === 'completed');
    const history = await losses(job.id);
    expect(history.steps).toEqual(Array.from({ length: totalSteps }, (_, index) => index + 1));
    // Resumed from the exact step it stopped at (a mid-epoch checkpoint): still the same curve.
    expect(history.losses).toEqual(reference);
    expect(next.output()).toMatch(/resuming from checkpoint/);
    report('worker sent SIGTERM mid-epoch', {
      exitMs,
      stoppedAtStep: handedBack.progress.step,
      stepsLost: totalSteps - new Set(history.steps).size,
      attempts: done.attempts,
    });
  });

  it('fails a job that kills its worker again and again after MAX_ATTEMPTS, with a clear error', async () => {
    const job = await submit();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const worker = await startWorker();
      await waitUntil(
        job.id,
        (current) => current.attempts === attempt && current.status === 'running' && current.progress.step > 0,
      );
      await worker.stop('SIGKILL');
    }
    const started = Date.now();
    await startWorker();
    const failed = await waitUntil(job.id, (current) => current.status === 'failed');
    expect(failed.error).toMatch(/gave up after 3 attempts/);
    expect(failed.attempts).toBe(4);
    report('job that kills its worker every time', {
      attempts: failed.attempts,
      msToGiveUpAfterLastKill: Date.now() - started,
      error: failed.error,
    });
  });
});
