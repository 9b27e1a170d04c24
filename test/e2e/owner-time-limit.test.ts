import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobs/schemas.js';
import { smallSpec } from '../helpers/specs.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe("an owner's default time limit", () => {
  let stack: Stack;
  let address: string;
  beforeAll(async () => {
    stack = await startStack('owner_time_limit');
    address = stack.api.address;
  });
  afterAll(() => stack?.stop());

  const read = async <T>(path: string) => (await (await fetch(`${address}${path}`)).json()) as T;

  it('ends a run submitted without maxDurationSeconds as failed once it is past its owner’s default', async () => {
    // With AUTH=off every job is the local owner's, and the local user is an admin.
    const settings = await fetch(`${address}/owners/local/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ retentionDays: null, maxDurationSeconds: 4 }),
    });
    expect(settings.status).toBe(200);
    const response = await fetch(`${address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Far too many epochs to finish in the limit, as in the test of a job's own limit.
      body: JSON.stringify(
        smallSpec({
          trainSamples: 3000,
          testSamples: 2000,
          epochs: 100,
          model: {
            layers: [
              { type: 'dense', units: 512, activation: 'relu' },
              { type: 'dense', units: 10 },
            ],
          },
        }),
      ),
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as JobView;
    expect(created.spec.maxDurationSeconds).toBeUndefined();
    expect(created.maxDurationSeconds).toBe(4);
    let job = created;
    while (!['completed', 'failed', 'cancelled'].includes(job.status)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = await read<JobView>(`/jobs/${created.id}`);
    }
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^stopped after its owner's default maxDurationSeconds of 4 s \(step \d+\)/);
    expect(job.durationMs).toBeGreaterThanOrEqual(4000);
    expect(job.metrics.epochs.length).toBeLessThan(100);
  });
});
