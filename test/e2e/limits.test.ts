import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { smallSpec } from '../helpers/specs.js';
import type { JobView } from '../../src/api/jobs/schemas.js';

describe('limits enforced by the worker', () => {
  let stack: Stack;
  let api: Stack['api'];

  const run = async (overrides: Parameters<typeof smallSpec>[0]) => {
    const response = await fetch(`${api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(smallSpec(overrides)),
    });
    const { id } = (await response.json()) as JobView;
    for (;;) {
      const job = (await (await fetch(`${api.address}/jobs/${id}`)).json()) as JobView;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const history = async (id: string) =>
    ((await (await fetch(`${api.address}/jobs/${id}/history`)).json()) as { steps: { step: number; loss: number }[] })
      .steps;

  // The time limit counts from a job's first start, loading its dataset included, and a worker loads
  // MNIST once, for its first job: a cold load on a busy machine can take most of 4 s. A first job
  // loads it (the deadline is set once the dataset is loaded, so that job ends however long the load
  // took), and the jobs below then have the 4 s for training alone.
  beforeAll(async () => {
    stack = await startStack('limits', { MAX_TRAINING_MS: '4000' });
    ({ api } = stack);
    await run({ trainSamples: 64, testSamples: 64, epochs: 1 });
  });
  afterAll(() => stack?.stop());

  it('fails a diverging job naming the step and suggesting a lower learning rate, keeping the history so far', async () => {
    const job = await run({
      learningRate: 10,
      trainSamples: 2000,
      epochs: 3,
      model: {
        layers: [
          { type: 'dense', units: 256, activation: 'relu' },
          { type: 'dense', units: 256, activation: 'relu' },
          { type: 'dense', units: 10 },
        ],
      },
    });
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/loss became (NaN|Infinity|-Infinity) at step (\d+) .*lower learningRate than 10/);
    const failedAt = Number(/at step (\d+)/.exec(job.error ?? '')?.[1]);
    const steps = await history(job.id);
    expect(steps.map((step) => step.step)).toEqual(Array.from({ length: failedAt - 1 }, (_, index) => index + 1));
    expect(steps.every((step) => Number.isFinite(step.loss))).toBe(true);
  });

  it('stops a job that runs past MAX_TRAINING_MS and fails it, keeping its history', async () => {
    const job = await run({
      trainSamples: 60_000,
      epochs: 5,
      batchSize: 32,
      model: {
        layers: [
          { type: 'dense', units: 512, activation: 'relu' },
          { type: 'dense', units: 10 },
        ],
      },
    });
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/maximum training time of 4 s \(step \d+\)/);
    const steps = await history(job.id);
    expect(steps.length).toBeGreaterThan(10);
    expect(steps.length).toBeLessThan(job.progress.totalSteps);
    expect(steps.map((step) => step.step)).toEqual(Array.from({ length: steps.length }, (_, index) => index + 1));
  });
});
