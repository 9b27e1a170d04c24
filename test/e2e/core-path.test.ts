import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { smallSpec } from '../helpers/specs.js';
import type { HealthReport } from '../../src/api/health/schemas.js';
import type { HistoryBody } from '../../src/api/history/schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';

describe('core path: HTTP -> queue -> worker process -> Postgres', () => {
  let stack: Stack;
  let api: Stack['api'];
  let database: Stack['database'];
  let worker: Stack['worker'];

  beforeAll(async () => {
    stack = await startStack('core_path');
    ({ api, database, worker } = stack);
  });
  afterAll(() => stack?.stop());

  async function followToEnd(id: string): Promise<{ statuses: string[]; job: JobView }> {
    const statuses: string[] = [];
    for (;;) {
      const job = (await (await fetch(`${api.address}/jobs/${id}`)).json()) as JobView;
      if (statuses.at(-1) !== job.status) statuses.push(job.status);
      if (['completed', 'failed', 'cancelled'].includes(job.status)) return { statuses, job };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  it('trains a small job to completion with every step once and per-epoch metrics', async () => {
    const response = await fetch(`${api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        smallSpec({
          trainSamples: 2000,
          testSamples: 500,
          epochs: 2,
          batchSize: 64,
          learningRate: 0.05,
          model: {
            layers: [
              { type: 'dense', units: 128, activation: 'relu' },
              { type: 'dense', units: 10 },
            ],
          },
        }),
      ),
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as JobView;
    const { statuses, job } = await followToEnd(created.id);

    expect([created.status, ...statuses.filter((status) => status !== 'queued')]).toEqual([
      'queued',
      'running',
      'completed',
    ]);
    const stepsPerEpoch = Math.ceil(2000 / 64);
    expect(job.progress).toEqual({ epoch: 2, step: stepsPerEpoch * 2, totalSteps: stepsPerEpoch * 2, fraction: 1 });
    expect(job.backend).toMatch(/^(tensorflow|wasm|cpu)$/);
    expect(job.attempts).toBe(1);
    expect(job.metrics.epochs.map((epoch) => epoch.epoch)).toEqual([1, 2]);
    for (const epoch of job.metrics.epochs) {
      expect(epoch.testAccuracy).toBeGreaterThan(0.5);
      expect(epoch.testLoss).toBeGreaterThan(0);
      expect(epoch.trainLoss).toBeGreaterThan(0);
      expect(epoch.durationMs).toBeGreaterThan(0);
      expect(epoch.samplesPerSecond).toBeGreaterThan(0);
    }

    const rows = await database.prisma.stepLoss.findMany({ where: { jobId: created.id }, orderBy: { step: 'asc' } });
    expect(rows.map((row) => row.step)).toEqual(Array.from({ length: stepsPerEpoch * 2 }, (_, index) => index + 1));
    expect(rows.filter((row) => row.epoch === 2)).toHaveLength(stepsPerEpoch);
    const history = (await (await fetch(`${api.address}/jobs/${created.id}/history`)).json()) as HistoryBody;
    expect(history.count).toBe(stepsPerEpoch * 2);
    expect(history.steps[0]).toEqual({ step: 1, epoch: 1, loss: rows[0]?.loss });

    // The worker logs every state change with the job id.
    await worker.waitFor(new RegExp(`"jobId":"${created.id}".*"status":"completed"`));
    expect(worker.output()).toMatch(new RegExp(`"jobId":"${created.id}".*"status":"running"`));
  });

  it('reports the worker and its training backend on /health', async () => {
    const report = (await (await fetch(`${api.address}/health`)).json()) as HealthReport;
    expect(report.training.workers).toBe(1);
    expect(report.training.backends).toHaveLength(1);
  });
});
