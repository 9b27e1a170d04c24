import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointList } from '../../src/api/jobs/fork-schemas.js';
import type { HistoryBody } from '../../src/api/history/schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';
import type { JobSpecInput } from '../../src/domain/job-spec.js';
import { smallSpec } from '../helpers/specs.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe('a time limit per job', () => {
  let stack: Stack;
  let address: string;
  beforeAll(async () => {
    stack = await startStack('time_limits');
    address = stack.api.address;
  });
  afterAll(() => stack?.stop());

  const read = async <T>(path: string) => (await (await fetch(`${address}${path}`)).json()) as T;

  /** Submits a run far too long to finish in its limit and follows it to its end: as created, as ended. */
  async function longRun(overrides: Partial<JobSpecInput> = {}): Promise<{ created: JobView; job: JobView }> {
    const response = await fetch(`${address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Short epochs, so some end within the limit (which counts the dataset's loading too) even on a
      // busy machine, and far too many to finish in it.
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
          ...overrides,
        }),
      ),
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as JobView;
    let job = created;
    while (!['completed', 'failed', 'cancelled'].includes(job.status)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      job = await read<JobView>(`/jobs/${created.id}`);
    }
    return { created, job };
  }

  it('ends a run past its maxDurationSeconds as failed, keeping its history, models and checkpoints', async () => {
    const { created, job } = await longRun({ maxDurationSeconds: 5 });
    expect(created.spec.maxDurationSeconds).toBe(5);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^stopped after the job's maxDurationSeconds of 5 s \(step \d+\)/);
    expect(job.durationMs).toBeGreaterThanOrEqual(5000);
    const history = await read<HistoryBody>(`/jobs/${created.id}/history`);
    expect(history.count).toBeGreaterThan(0);
    const epochs = job.metrics.epochs.map((epoch) => epoch.epoch);
    expect(epochs.length).toBeGreaterThan(0);
    const kept = await read<CheckpointList>(`/jobs/${created.id}/checkpoints`);
    // The last three epochs' and the best one's (by test accuracy, the latest of equals).
    const best = [...job.metrics.epochs].sort((a, b) => b.testAccuracy - a.testAccuracy || b.epoch - a.epoch)[0];
    const expected = [...new Set([...epochs.slice(-3), best?.epoch ?? 0])].sort((a, b) => a - b);
    expect(kept.checkpoints.map((checkpoint) => checkpoint.epoch)).toEqual(expected);
    expect((await fetch(`${address}/jobs/${created.id}/model`)).status).toBe(200);
  });

  it('refuses a maxDurationSeconds that is not a positive whole number of seconds', async () => {
    const response = await fetch(`${address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(smallSpec({ maxDurationSeconds: 0 })),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { issues: { path: string }[] }).issues[0]?.path).toBe('maxDurationSeconds');
  });

  // Last in the file: the default binds every later job of the owner.
  it('ends a run submitted without maxDurationSeconds as failed once it is past its owner’s default', async () => {
    // With AUTH=off every job is the local owner's, and the local user is an admin.
    const settings = await fetch(`${address}/owners/local/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ retentionDays: null, maxDurationSeconds: 4 }),
    });
    expect(settings.status).toBe(200);
    const { created, job } = await longRun();
    expect(created.spec.maxDurationSeconds).toBeUndefined();
    expect(created.maxDurationSeconds).toBe(4);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/^stopped after its owner's default maxDurationSeconds of 4 s \(step \d+\)/);
    expect(job.durationMs).toBeGreaterThanOrEqual(4000);
    expect(job.metrics.epochs.length).toBeLessThan(100);
  });
});
