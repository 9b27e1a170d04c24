import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTrainerClient,
  settle,
  TrainerApiError,
  TrainerUnreachable,
  unwrap,
  type ConnectionChange,
  type JobSpecInput,
  type TrainerClient,
} from '@trainer/client';
import { freePort } from '../helpers/own-services.js';
import { startStack, type Stack } from '../helpers/stack.js';

// The client against a real API and worker, with keys required: typed calls, errors as values
// carrying the server's code and issues, and a job followed over its WebSocket to the end.
const adminKey = `admin-${'k'.repeat(40)}`;

const smallJob: JobSpecInput = {
  name: 'client',
  trainSamples: 512,
  testSamples: 128,
  epochs: 2,
  learningRate: 0.05,
  batchSize: 64,
  model: {
    layers: [
      { type: 'dense', units: 32, activation: 'relu' },
      { type: 'dense', units: 10 },
    ],
  },
};

describe('the typed client', () => {
  let stack: Stack;
  let trainer: TrainerClient;

  beforeAll(async () => {
    stack = await startStack('client_api', { AUTH: 'required', ADMIN_API_KEY: adminKey });
    trainer = createTrainerClient({ baseUrl: stack.api.address, apiKey: () => adminKey, WebSocket });
  });
  afterAll(() => stack?.stop());

  it('sends the key it holds and reads typed answers', async () => {
    expect(await unwrap(trainer.api.GET('/whoami'))).toEqual({ owner: 'admin', role: 'admin', auth: 'required' });
    const job = await unwrap(trainer.api.POST('/jobs', { body: smallJob }));
    expect(job).toMatchObject({ status: 'queued', name: 'client', architecture: '784-32-10' });
    const runs = await unwrap(trainer.api.GET('/jobs', { params: { query: { name: 'client' } } }));
    expect(runs.runs.map((run) => run.id)).toContain(job.id);
  });

  it('gives a refusal as a value with the server’s status, code and the issues naming each bad field', async () => {
    const outcome = await settle(trainer.api.POST('/jobs', { body: { ...smallJob, learningRate: 0, batchSize: -1 } }));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toBeInstanceOf(TrainerApiError);
    expect(outcome.error).toMatchObject({ status: 400, code: 'invalid_spec' });
    expect(outcome.error.issues.map((issue) => issue.path).sort()).toEqual(['batchSize', 'learningRate']);
    expect(outcome.response?.status).toBe(400);
  });

  it('throws the refusal from unwrap, and the missing key as the server words it', async () => {
    const missing = unwrap(trainer.api.GET('/jobs/{id}', { params: { path: { id: crypto.randomUUID() } } }));
    await expect(missing).rejects.toMatchObject({ name: 'TrainerApiError', status: 404, code: 'not_found' });
    const keyless = createTrainerClient({ baseUrl: stack.api.address });
    const refused = await settle(keyless.api.GET('/jobs'));
    expect(refused).toMatchObject({ ok: false, error: { status: 401, code: 'unauthenticated' } });
  });

  it('says a server that does not answer is unreachable, as a value', async () => {
    const nowhere = createTrainerClient({ baseUrl: `http://127.0.0.1:${await freePort()}` });
    const outcome = await settle(nowhere.api.GET('/health'));
    expect(outcome).toMatchObject({ ok: false, response: null, error: { code: 'unreachable', status: null } });
    expect(outcome.ok || outcome.error).toBeInstanceOf(TrainerUnreachable);
  });

  it('follows a job over its WebSocket with the key, every step once, to its final status', async () => {
    const job = await unwrap(trainer.api.POST('/jobs', { body: { ...smallJob, name: 'followed' } }));
    const changes: ConnectionChange['state'][] = [];
    const followed = trainer.followJob(job.id, { onConnection: (change) => changes.push(change.state) });
    const steps: number[] = [];
    const epochs: number[] = [];
    const statuses: string[] = [];
    for await (const message of followed) {
      if (message.type === 'steps') steps.push(...message.steps.map((step) => step.step));
      else if (message.type === 'epoch') epochs.push(message.epoch);
      else statuses.push(message.status);
    }
    const final = await followed.finished;
    expect(final).toMatchObject({ type: 'status', status: 'completed' });
    const total = (await unwrap(trainer.api.GET('/jobs/{id}', { params: { path: { id: job.id } } }))).progress
      .totalSteps;
    expect(steps).toEqual(Array.from({ length: total }, (_, index) => index + 1));
    expect(epochs).toEqual([1, 2]);
    expect(statuses.at(-1)).toBe('completed');
    expect(changes).toEqual(['connecting', 'live', 'closed']);
  });

  it('ends following an unknown job with the server’s 404, not endless retries', async () => {
    const followed = trainer.followJob(crypto.randomUUID(), { backoff: { initialDelayMs: 10 } });
    await expect(followed.finished).rejects.toMatchObject({ status: 404, code: 'not_found' });
    const messages: unknown[] = [];
    await expect(
      (async () => {
        for await (const message of followed) messages.push(message);
      })(),
    ).rejects.toBeInstanceOf(TrainerApiError);
    expect(messages).toEqual([]);
  });
});
