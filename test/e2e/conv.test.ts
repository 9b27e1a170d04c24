import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { smallSpec } from '../helpers/specs.js';

interface JobBody {
  id: string;
  status: string;
  attempts: number;
  error: string | null;
  parameterCount: number;
  progress: { step: number; totalSteps: number };
}

// A tiny convolutional network on 512 images: small batches and several epochs, so a worker can be
// killed or a cancel can land while it trains.
const spec = smallSpec({
  name: 'tiny conv',
  seed: 12,
  trainSamples: 512,
  testSamples: 200,
  epochs: 8,
  batchSize: 8,
  optimizer: 'adam',
  learningRate: 0.001,
  model: {
    layers: [
      { type: 'conv2d', filters: 4, kernelSize: 3, activation: 'relu' },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 10 },
    ],
  },
});
const stepsPerEpoch = 512 / 8;
const totalSteps = stepsPerEpoch * 8;
const sequence = (length: number) => Array.from({ length }, (_, index) => index + 1);

describe('a convolutional job through worker processes', () => {
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
    expect(response.status).toBe(201);
    return (await response.json()) as JobBody;
  };
  const getJob = async (id: string) => (await (await fetch(`${api.address}/jobs/${id}`)).json()) as JobBody;
  const waitUntil = async (id: string, done: (job: JobBody) => boolean, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await getJob(id);
      if (done(job)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} stuck at ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const losses = async (id: string) => {
    const rows = await database.prisma.stepLoss.findMany({ where: { jobId: id }, orderBy: { step: 'asc' } });
    return { steps: rows.map((row) => row.step), losses: rows.map((row) => row.loss) };
  };

  beforeAll(async () => {
    database = await createTestDatabase('conv_e2e');
    config = testConfig(database.url, {
      LOCK_DURATION_MS: '2000',
      STALLED_INTERVAL_MS: '1000',
      WORKER_CONCURRENCY: '1',
      CHECKPOINT_EVERY_STEPS: '16',
    });
    api = await startApi(config, silentLogger());
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop('SIGKILL')));
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('trains to completion with per-epoch metrics, and lists with its architecture', async () => {
    await startWorker();
    const job = await submit();
    // conv 3*3*1*4+4, dense 13*13*4*10+10.
    expect(job.parameterCount).toBe(40 + 6770);
    const done = await waitUntil(job.id, (current) => current.status === 'completed');
    expect(done.error).toBeNull();
    const history = await losses(job.id);
    expect(history.steps).toEqual(sequence(totalSteps));
    reference = history.losses;
    const epochs = await database.prisma.epochMetric.findMany({ where: { jobId: job.id }, orderBy: { epoch: 'asc' } });
    expect(epochs.map((epoch) => epoch.epoch)).toEqual(sequence(8));
    expect(epochs.at(-1)?.testAccuracy).toBeGreaterThan(0.6);
    const listing = (await (await fetch(`${api.address}/jobs?name=tiny`)).json()) as {
      runs: { id: string; architecture: string }[];
    };
    expect(listing.runs.find((run) => run.id === job.id)?.architecture).toBe('28x28x1-c4k3-p2-f-10');
    // Its stored model takes the dataset's images ([28, 28, 1]) as PNGs and as 784 raw values alike.
    const png = Buffer.from(await (await fetch(`${api.address}/datasets/mnist/examples/test/0.png`)).arrayBuffer());
    const sharp = (await import('sharp')).default;
    const pixels = [...(await sharp(png).grayscale().raw().toBuffer())];
    const predict = async (body: object) => {
      const response = await fetch(`${api.address}/jobs/${job.id}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, topK: 10 }),
      });
      expect(response.status).toBe(200);
      return (
        (await response.json()) as {
          predictions: { label: number; probabilities: { label: number; probability: number }[] }[];
        }
      ).predictions;
    };
    // 'resize' only: the MNIST preprocessing would re-centre a digit that already is centred.
    const fromImage = await predict({ images: [png.toString('base64')], preprocess: 'resize' });
    const fromPixels = await predict({ inputs: [pixels] });
    expect(pixels).toHaveLength(784);
    expect(fromImage).toHaveLength(1);
    expect(fromImage.map((prediction) => prediction.label)).toEqual(fromPixels.map((prediction) => prediction.label));
    for (const [rank, entry] of (fromImage[0]?.probabilities ?? []).entries()) {
      const wanted = fromPixels[0]?.probabilities[rank];
      expect(entry.label).toBe(wanted?.label);
      expect(entry.probability).toBeCloseTo(wanted?.probability ?? NaN, 5);
    }
  });

  it('resumes after its worker is killed, from a checkpoint, every step once and the same curve', async () => {
    const first = await startWorker();
    const job = await submit();
    await waitUntil(job.id, (current) => current.progress.step > stepsPerEpoch + 20);
    await first.stop('SIGKILL');
    const next = await startWorker();
    const done = await waitUntil(job.id, (current) => current.status === 'completed');
    expect(done.attempts).toBe(2);
    expect(next.output()).toMatch(/resuming from checkpoint/);
    const history = await losses(job.id);
    expect(history.steps).toEqual(sequence(totalSteps));
    expect(history.losses).toEqual(reference);
  });

  it('cancels while it trains, keeping the history it had', async () => {
    await startWorker();
    const job = await submit();
    await waitUntil(job.id, (current) => current.status === 'running' && current.progress.step > 20);
    const response = await fetch(`${api.address}/jobs/${job.id}/cancel`, { method: 'POST' });
    expect([200, 202]).toContain(response.status);
    const ended = await waitUntil(job.id, (current) => current.status !== 'running', 10_000);
    expect(ended.status).toBe('cancelled');
    const history = await losses(job.id);
    expect(history.steps).toEqual(sequence(history.steps.length));
    expect(history.steps.length).toBeGreaterThan(20);
    expect(history.steps.length).toBeLessThan(totalSteps);
  });
});
