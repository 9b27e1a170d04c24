import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lttb } from '../../../src/history/downsample.js';
import type { Service } from '../../../src/main/process.js';
import { startApi } from '../../../src/main/start-api.js';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger, testConfig } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { record, stepsOf } from '../../helpers/websocket.js';

import type { Comparison } from '../../../src/api/compare/schemas.js';
import type { HistoryBody } from '../../../src/api/history/schemas.js';

type Step = HistoryBody['steps'][number];

// Histories longer than the 5,000 steps the store reads per query, so every reader crosses pages.
describe('histories longer than a page', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let long: Awaited<ReturnType<typeof insertFinishedRun>>;
  let other: Awaited<ReturnType<typeof insertFinishedRun>>;
  // An answer's status, type and body, the body typed by the API's own schema of it.
  const get = async <T>(path: string) => {
    const response = await fetch(`${api.address}${path}`);
    return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as T };
  };

  beforeAll(async () => {
    database = await createTestDatabase('long_history');
    const jobs = createJobsRepository(database.prisma);
    api = await startApi(testConfig(database.url), silentLogger());
    // 3 epochs of 4,001 steps: 12,003 in all.
    long = await insertFinishedRun(
      jobs,
      { name: 'long', trainSamples: 4001, batchSize: 1, epochs: 3 },
      { accuracies: [0.5, 0.6, 0.7] },
    );
    other = await insertFinishedRun(jobs, { name: 'other' });
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('serves a whole history as JSON, every step once and in order, with its counts', async () => {
    const { status, type, body } = await get<HistoryBody>(`/jobs/${long.id}/history`);
    expect(status).toBe(200);
    expect(type).toMatch(/^application\/json/);
    expect(body).toEqual({ jobId: long.id, downsampling: null, steps: long.steps, count: 12_003, totalSteps: 12_003 });
  });

  it('downsamples a long history to the points LTTB picks from the whole of it', async () => {
    const expected = lttb(
      long.steps,
      300,
      (step: Step) => step.step,
      (step: Step) => step.loss,
    );
    const { body } = await get<HistoryBody>(`/jobs/${long.id}/history?points=300`);
    expect(body).toEqual({ jobId: long.id, downsampling: 'lttb', steps: expected, count: 300, totalSteps: 12_003 });
    // Asking for at least as many points as there are steps gives the whole history.
    const whole = await get<HistoryBody>(`/jobs/${long.id}/history?points=12003`);
    expect(whole.body).toMatchObject({ downsampling: null, count: 12_003, totalSteps: 12_003 });
  });

  it('compares a long run by the same downsampled curve', async () => {
    const { status, body } = await get<Comparison>(`/compare?ids=${long.id},${other.id}&points=120`);
    expect(status).toBe(200);
    const curve = body.curves.runs.find((run) => run.id === long.id);
    const expected = lttb(
      long.steps,
      120,
      (step: Step) => step.step,
      (step: Step) => step.loss,
    );
    expect(curve?.points.map(({ step, loss }) => ({ step, loss }))).toEqual(
      expected.map(({ step, loss }) => ({ step, loss })),
    );
  });

  it('replays a long history over WebSocket with each epoch between its last step and the next epoch first', async () => {
    const recording = await record(`${api.address.replace('http', 'ws')}/jobs/${long.id}/events`);
    await recording.closed;
    expect(stepsOf(recording.messages)).toEqual(long.steps);
    // Where each epoch message sits: after the last step before it.
    const order = recording.messages.flatMap((message) => {
      if (message.type === 'steps') return [`steps to ${(message.steps as Step[]).at(-1)?.step}`];
      if (message.type === 'epoch') return [`epoch ${message.epoch as number}`];
      return [`status ${message.status as string}`];
    });
    const at = (label: string) => order.indexOf(label);
    for (const [epoch, lastStep] of [
      [1, 4001],
      [2, 8002],
      [3, 12_003],
    ] as const) {
      expect(at(`epoch ${epoch}`), `epoch ${epoch}`).toBe(at(`steps to ${lastStep}`) + 1);
    }
    expect(order.at(-1)).toBe('status completed');
    expect(recording.messages.map((message) => message.seq)).toEqual(recording.messages.map((_, index) => index + 1));
  });

  it('replays from a step in the middle of a page and an epoch', async () => {
    const recording = await record(`${api.address.replace('http', 'ws')}/jobs/${long.id}/events?since=6500`);
    await recording.closed;
    expect(stepsOf(recording.messages)).toEqual(long.steps.slice(6500));
    expect(recording.messages.filter((message) => message.type === 'epoch').map((message) => message.epoch)).toEqual([
      2, 3,
    ]);
  });
});
