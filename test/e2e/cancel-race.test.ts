import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSpecInput } from '../../src/domain/job-spec.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { record } from '../helpers/websocket.js';

interface JobBody {
  id: string;
  status: string;
  cancelRequested: boolean;
  finishedAt: string | null;
  progress: { step: number; totalSteps: number };
}

// The job: 1,500 one-step batches of about a second in all, so a cancel lands anywhere in it.
const raceJob: JobSpecInput = {
  trainSamples: 3000,
  testSamples: 200,
  batchSize: 2,
  epochs: 1,
  learningRate: 0.05,
  seed: 1,
  model: {
    layers: [
      { type: 'dense', units: 32, activation: 'relu' },
      { type: 'dense', units: 10 },
    ],
  },
};
const totalSteps = 1500;
// Where cancels are sent, by the last step announced: spread over the job, then the last few steps,
// then after the last step (while the test set is evaluated and the status written).
const cancelPoints = [30, 300, 750, 1100, 1350, 1450, 1480, 1490, 1495, 1498, 1499, 1500, 1500, 1500];

interface Attempt {
  point: number;
  response: number;
  /** The job as the 202 or 409 answered it. */
  answered: JobBody;
  sentAt: number;
  answeredAt: number;
  final: JobBody;
  steps: number[];
}

describe('cancel against a running worker process', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('cancel-race', { STEP_FLUSH_MS: '20' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const api = () => stack.api.address;
  const getJob = async (id: string) => (await (await fetch(`${api()}/jobs/${id}`)).json()) as JobBody;

  async function cancelAt(point: number): Promise<Attempt> {
    const submitted = await fetch(`${api()}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(raceJob),
    });
    expect(submitted.status).toBe(201);
    const { id } = (await submitted.json()) as JobBody;
    const events = await record(`${api().replace(/^http/, 'ws')}/jobs/${id}/events`);
    const lastAnnounced = () =>
      events.messages.reduce(
        (last, message) =>
          message.type === 'steps' ? Math.max(last, ...(message.steps as { step: number }[]).map((s) => s.step)) : last,
        0,
      );
    while (lastAnnounced() < point) await new Promise((resolve) => setTimeout(resolve, 1));
    const sentAt = Date.now();
    const response = await fetch(`${api()}/jobs/${id}/cancel`, { method: 'POST' });
    const answeredAt = Date.now();
    const answered = (await response.json()) as JobBody;
    await events.closed;
    const final = await getJob(id);
    const history = (await (await fetch(`${api()}/jobs/${id}/history`)).json()) as { steps: { step: number }[] };
    return {
      point,
      response: response.status,
      answered,
      sentAt,
      answeredAt,
      final,
      steps: history.steps.map((s) => s.step),
    };
  }

  it('ends every job whose cancel was accepted cancelled, at the step it caught, and refuses only finished ones', async () => {
    const attempts: Attempt[] = [];
    for (const point of cancelPoints) attempts.push(await cancelAt(point));
    const summary = attempts.map(
      (a) =>
        `${a.point}: ${a.response} at step ${a.answered.progress?.step} -> ${a.final.status}, ${a.steps.length} steps`,
    );
    console.log(summary.join('\n'));

    for (const attempt of attempts) {
      const { answered, final, steps } = attempt;
      expect([202, 409], summary.join('\n')).toContain(attempt.response);
      // Whatever happened, the history is whole: every step from the first to the last, once.
      expect(steps).toEqual(Array.from({ length: steps.length }, (_, index) => index + 1));
      if (attempt.response === 202) {
        expect(answered.status).toBe('running');
        expect(final.status, `cancel at ${attempt.point}`).toBe('cancelled');
        expect(final.cancelRequested).toBe(true);
        // The history keeps every step up to the one the cancel caught, and ends where training stopped.
        expect(steps.at(-1) ?? 0).toBeGreaterThanOrEqual(answered.progress.step);
        expect(final.progress.step).toBe(steps.at(-1) ?? 0);
      } else {
        // Refused only because the job had ended before the request: it was never flagged.
        expect(final.status).toBe('completed');
        expect(final.cancelRequested).toBe(false);
        expect(new Date(final.finishedAt ?? 0).getTime()).toBeLessThanOrEqual(attempt.answeredAt);
        expect(steps).toHaveLength(totalSteps);
      }
    }
    // The sweep reached both kinds of cancel, and one accepted in the last few steps.
    expect(attempts.filter((a) => a.response === 202).length).toBeGreaterThanOrEqual(8);
    expect(attempts.some((a) => a.response === 202 && a.point >= totalSteps - 10)).toBe(true);
  });
});
