import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Comparison } from '../../src/api/compare/schemas.js';
import type { JobView, RunList } from '../../src/api/jobs/schemas.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { smallSpec } from '../helpers/specs.js';
import { record } from '../helpers/websocket.js';

describe('validation split and early stopping through a worker', () => {
  let stack: Stack;
  let address: string;

  beforeAll(async () => {
    stack = await startStack('validation_e2e');
    address = stack.api.address;
  });
  afterAll(() => stack?.stop());

  async function submit(body: unknown): Promise<JobView> {
    const response = await fetch(`${address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as JobView;
  }

  async function finished(id: string): Promise<JobView> {
    for (;;) {
      const job = (await (await fetch(`${address}/jobs/${id}`)).json()) as JobView;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('records validation metrics beside the test ones, picks the best epoch by them, and stops early', async () => {
    const created = await submit(
      smallSpec({
        name: 'stops-early',
        trainSamples: 1200,
        testSamples: 200,
        validationSamples: 200,
        epochs: 8,
        // The training loss falls every epoch, so "max" never improves after epoch 1.
        earlyStopping: { metric: 'trainLoss', mode: 'max', patience: 2 },
      }),
    );
    const events = await record(`${address.replace(/^http/, 'ws')}/jobs/${created.id}/events`);
    const job = await finished(created.id);
    events.socket.close();

    expect(job.status).toBe('completed');
    expect(job.error).toBeNull();
    expect(job.stoppedEarly).toEqual({
      epoch: 3,
      reason: expect.stringMatching(/^early stopping: trainLoss did not rise for 2 epochs/) as string,
    });
    expect(job.metrics.epochs.map((epoch) => epoch.epoch)).toEqual([1, 2, 3]);
    for (const epoch of job.metrics.epochs) {
      expect(epoch.validationAccuracy).toBeGreaterThan(0.3);
      expect(epoch.validationLoss).toBeGreaterThan(0);
    }
    const byValidation = [...job.metrics.epochs].sort(
      (a, b) => (b.validationAccuracy ?? 0) - (a.validationAccuracy ?? 0) || b.epoch - a.epoch,
    )[0];
    expect(job.bestEpoch).toBe(byValidation?.epoch);
    expect(job.finalValidationAccuracy).toBe(job.metrics.epochs.at(-1)?.validationAccuracy);
    expect(job.progress.step).toBe(3 * Math.ceil(1000 / 64));

    const epochMessages = events.messages.filter((message) => message.type === 'epoch');
    expect(epochMessages.map((message) => typeof message.validationAccuracy)).toEqual(['number', 'number', 'number']);

    const runs = (await (await fetch(`${address}/jobs?name=stops-early`)).json()) as RunList;
    expect(runs.runs[0]?.stoppedEarly?.epoch).toBe(3);
    expect(runs.runs[0]?.bestValidationAccuracy).toBe(job.bestValidationAccuracy);

    const other = await submit(smallSpec({ name: 'plain', trainSamples: 500, testSamples: 100, epochs: 1 }));
    const plain = await finished(other.id);
    expect(plain.stoppedEarly).toBeNull();
    expect(plain.finalValidationAccuracy).toBeNull();
    expect(plain.metrics.epochs[0]).not.toHaveProperty('validationAccuracy');
    const comparison = (await (await fetch(`${address}/compare?ids=${job.id},${plain.id}`)).json()) as Comparison;
    expect(comparison.runs.map((run) => run.finalValidationAccuracy)).toEqual([job.finalValidationAccuracy, null]);
  });
});
