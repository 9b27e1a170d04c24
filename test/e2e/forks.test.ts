import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointList } from '../../src/api/jobs/fork-schemas.js';
import type { HistoryBody } from '../../src/api/history/schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';
import type { EpochMetrics } from '../../src/domain/metrics.js';
import { parseStoredJobSpec } from '../../src/domain/job-spec.js';
import { readArtifactBytes } from '../../src/store/artifacts/artifact-store.js';
import { createPostgresArtifactStore } from '../../src/store/artifacts/postgres-artifact-store.js';
import { selectBackend } from '../../src/training/backend.js';
import { evaluateCheckpoint } from '../../src/training/checkpoint-evaluation.js';
import { loadDataset } from '../../src/datasets/loading/index.js';
import { decodeCheckpoint } from '../../src/worker/checkpoint-codec.js';
import { bearer, testKeys } from '../helpers/access.js';
import { smallSpec } from '../helpers/specs.js';
import { startStack, type Stack } from '../helpers/stack.js';

const adminKey = 'forks-admin-key-0123456789abcdef';

// Wall-clock figures differ between any two runs; everything else an epoch measures must not.
const measured = ({ epoch, testAccuracy, testLoss, trainLoss }: EpochMetrics) => ({
  epoch,
  testAccuracy,
  testLoss,
  trainLoss,
});

describe('kept checkpoints, forks and continuations through a worker', () => {
  let stack: Stack;
  let address: string;
  let alice: Record<string, string>;
  let bob: Record<string, string>;

  beforeAll(async () => {
    stack = await startStack('forks_e2e', { AUTH: 'required', ADMIN_API_KEY: adminKey });
    address = stack.api.address;
    const keys = testKeys(stack.database.prisma);
    alice = bearer((await keys.issue('alice', 'member')).key);
    bob = bearer((await keys.issue('bob', 'member')).key);
  });
  afterAll(() => stack?.stop());

  async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
    const response = await fetch(`${address}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as unknown };
  }

  async function submit(overrides: Parameters<typeof smallSpec>[0]): Promise<JobView> {
    const answer = await call('POST', '/jobs', alice, smallSpec({ trainSamples: 320, testSamples: 100, ...overrides }));
    expect(answer.status).toBe(201);
    return answer.body as JobView;
  }

  async function fork(id: string, body: unknown, headers = alice) {
    return call('POST', `/jobs/${id}/fork`, headers, body);
  }

  async function forked(id: string, body: unknown): Promise<JobView> {
    const answer = await fork(id, body);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as JobView;
  }

  async function finished(id: string): Promise<JobView> {
    for (;;) {
      const job = (await call('GET', `/jobs/${id}`, alice)).body as JobView;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function steps(id: string, query = ''): Promise<HistoryBody['steps']> {
    return ((await call('GET', `/jobs/${id}/history${query}`, alice)).body as HistoryBody).steps;
  }

  let adam: JobView;
  beforeAll(async () => {
    adam = await finished((await submit({ name: 'adam-3', epochs: 3, optimizer: 'adam', learningRate: 0.001 })).id);
  });

  it('keeps a checkpoint of every finished epoch after the run ends, and lists them', async () => {
    expect(adam.status).toBe('completed');
    const listed = await call('GET', `/jobs/${adam.id}/checkpoints`, alice);
    expect(listed.status).toBe(200);
    const { checkpoints } = listed.body as CheckpointList;
    expect(checkpoints.map(({ epoch, step }) => ({ epoch, step }))).toEqual([
      { epoch: 1, step: 5 },
      { epoch: 2, step: 10 },
      { epoch: 3, step: 15 },
    ]);
    // 784-64-10 with Adam: weights and two slots of each, float32, and the iteration count.
    const parameters = 784 * 64 + 64 + 64 * 10 + 10;
    for (const checkpoint of checkpoints) expect(checkpoint.bytes).toBe(4 * (3 * parameters + 1));
    expect(checkpoints.filter((checkpoint) => checkpoint.best)).toHaveLength(1);
    expect((await call('GET', `/jobs/${adam.id}/checkpoints`, bob)).status).toBe(404);
  });

  it('forks a finished Adam run at epoch 1 of 3 without overrides and repeats its steps and epochs exactly', async () => {
    const child = await forked(adam.id, { fromEpoch: 1 });
    expect(child.parent).toEqual({
      jobId: adam.id,
      epoch: 1,
      step: 5,
      deleted: false,
      resumed: { weights: true, optimizerState: true, dataOrder: true },
    });
    expect(child.spec).toEqual(adam.spec);
    const done = await finished(child.id);
    expect(done.status).toBe('completed');
    expect(done.metrics.epochs.map(measured)).toEqual(adam.metrics.epochs.slice(1).map(measured));
    const parentSteps = await steps(adam.id);
    expect(await steps(child.id)).toEqual(parentSteps.filter((step) => step.step > 5));
    expect(done.progress).toMatchObject({ epoch: 3, step: 15, totalSteps: 15, fraction: 1 });

    const parent = (await call('GET', `/jobs/${adam.id}`, alice)).body as JobView;
    expect(parent.parent).toBeNull();
    expect(parent.children).toContainEqual({ jobId: child.id, epoch: 1, step: 5 });
  });

  it('continues a 2-epoch run to 4 epochs from its final weights', async () => {
    const spec = { name: 'two', epochs: 2, optimizer: 'adam' as const, learningRate: 0.001 };
    const parent = await finished((await submit(spec)).id);
    const child = await forked(parent.id, { overrides: { epochs: 4 } });
    expect(child.parent).toMatchObject({ epoch: 2, step: 10 });
    const done = await finished(child.id);
    expect(done.metrics.epochs.map((epoch) => epoch.epoch)).toEqual([3, 4]);

    // The weights the child started from: the pinned checkpoint, evaluated as an epoch is.
    const kept = await stack.database.prisma.keptCheckpoint.findUniqueOrThrow({
      where: { jobId_epoch: { jobId: parent.id, epoch: 2 } },
    });
    const tensors = await readArtifactBytes(createPostgresArtifactStore(stack.database.prisma), kept.artifactId);
    const checkpoint = decodeCheckpoint({ ...kept, tensors: new Uint8Array(tensors ?? []) });
    await selectBackend('auto');
    const stored = parseStoredJobSpec(done.spec);
    if (!stored.ok) throw new Error('child spec does not parse');
    const before = evaluateCheckpoint(stored.spec, await loadDataset('mnist'), checkpoint);
    expect(before.testLoss).toBe(parent.metrics.epochs[1]?.testLoss);

    // And it trains on as one run of 4 epochs would have.
    const straight = await finished((await submit({ ...spec, name: 'four', epochs: 4 })).id);
    expect(done.metrics.epochs.map(measured)).toEqual(straight.metrics.epochs.slice(2).map(measured));
  });

  it('forks with a new learning rate: optimizer state kept, rate changed', async () => {
    const child = await forked(adam.id, { fromEpoch: 1, overrides: { learningRate: 0.003, name: 'faster' } });
    expect(child.parent?.resumed).toEqual({ weights: true, optimizerState: true, dataOrder: true });
    expect(child.spec.learningRate).toBe(0.003);
    expect(child.name).toBe('faster');
    const done = await finished(child.id);
    const parentSteps = (await steps(adam.id)).filter((step) => step.step > 5);
    const childSteps = await steps(done.id);
    // The first step's loss is taken before its update: the parent's weights on the parent's batch.
    expect(childSteps[0]).toEqual(parentSteps[0]);
    expect(childSteps[1]?.loss).not.toBe(parentSteps[1]?.loss);

    const fresh = await forked(adam.id, { fromEpoch: 1, overrides: { optimizer: 'sgd', batchSize: 32 } });
    expect(fresh.parent?.resumed).toEqual({ weights: true, optimizerState: false, dataOrder: false });
    expect((await finished(fresh.id)).status).toBe('completed');
  });

  it("gives a fork's history with its ancestors' steps up to each fork point, on one step axis", async () => {
    const child = await finished((await forked(adam.id, { fromEpoch: 1, overrides: { name: 'child' } })).id);
    const grandchild = await finished(
      (await forked(child.id, { fromEpoch: 2, overrides: { learningRate: 0.002, epochs: 4 } })).id,
    );
    const answer = (await call('GET', `/jobs/${grandchild.id}/history?lineage=true`, alice)).body as HistoryBody;
    expect(answer.lineage).toEqual([
      { jobId: adam.id, lastStep: 5 },
      { jobId: child.id, lastStep: 10 },
      { jobId: grandchild.id, lastStep: 20 },
    ]);
    const parentSteps = await steps(adam.id);
    const childSteps = await steps(child.id);
    const own = await steps(grandchild.id);
    expect(answer.steps).toEqual([
      ...parentSteps.filter((step) => step.step <= 5),
      ...childSteps.filter((step) => step.step <= 10),
      ...own,
    ]);
    expect(answer.steps.map((step) => step.step)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect(answer.count).toBe(20);

    const sampled = (await call('GET', `/jobs/${grandchild.id}/history?lineage=true&points=6`, alice))
      .body as HistoryBody;
    expect(sampled).toMatchObject({ downsampling: 'lttb', count: 6, totalSteps: 20 });
    expect(sampled.steps[0]).toEqual(answer.steps[0]);
    expect(sampled.steps.at(-1)).toEqual(answer.steps.at(-1));
    // Without lineage, only its own steps.
    expect((await steps(grandchild.id)).map((step) => step.step)[0]).toBe(11);
  });

  it('refuses what a fork may not do, naming the field', async () => {
    const model = await fork(adam.id, { overrides: { model: { layers: [{ type: 'dense', units: 10 }] } } });
    expect(model.status).toBe(400);
    expect(model.body).toMatchObject({ code: 'invalid_fork', issues: [{ path: 'overrides.model' }] });
    for (const field of ['dataset', 'validationSamples', 'validationFraction', 'seed', '__proto__']) {
      const refused = await fork(adam.id, JSON.parse(`{"overrides":{"${field}":1}}`));
      expect(refused.status, field).toBe(400);
    }
    const rate = await fork(adam.id, { overrides: { learningRate: -1 } });
    expect(rate.status).toBe(400);
    expect(rate.body).toMatchObject({ issues: [{ path: 'overrides.learningRate' }] });
    const nothingLeft = await fork(adam.id, {});
    expect(nothingLeft.status).toBe(400);
    expect(nothingLeft.body).toMatchObject({ issues: [{ path: 'overrides.epochs' }] });
    const badEpoch = await fork(adam.id, { fromEpoch: 0 });
    expect(badEpoch.body).toMatchObject({ issues: [{ path: 'fromEpoch' }] });

    const expired = await fork(adam.id, { fromEpoch: 7 });
    expect(expired.status).toBe(409);
    expect(expired.body).toMatchObject({
      code: 'checkpoint_not_kept',
      error: expect.stringContaining('kept epochs: 1, 2, 3') as string,
    });
    expect((await fork(adam.id, { fromEpoch: 1 }, bob)).status).toBe(404);
    expect((await fork('00000000-0000-4000-8000-000000000000', {})).status).toBe(404);
  });

  it('forks a running job from its last finished epoch', async () => {
    const running = await submit({ name: 'long', trainSamples: 2000, epochs: 30 });
    let kept: CheckpointList['checkpoints'] = [];
    while (kept.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      kept = ((await call('GET', `/jobs/${running.id}/checkpoints`, alice)).body as CheckpointList).checkpoints;
    }
    const child = await forked(running.id, { overrides: { epochs: 31 } });
    const parentNow = (await call('GET', `/jobs/${running.id}`, alice)).body as JobView;
    expect(parentNow.status).toBe('running');
    // The latest epoch kept when the fork was made: at least the first seen, at most the last finished.
    expect(child.parent?.epoch).toBeGreaterThanOrEqual(kept.at(-1)?.epoch ?? 1);
    expect(child.parent?.epoch).toBeLessThanOrEqual(parentNow.metrics.epochs.length);
    expect(child.parent?.step).toBe((child.parent?.epoch ?? 0) * 32);
    await call('POST', `/jobs/${running.id}/cancel`, alice);
    await call('POST', `/jobs/${child.id}/cancel`, alice);
  });

  it('answers a repeated Idempotency-Key with the same fork', async () => {
    const headers = { ...alice, 'idempotency-key': 'fork-once' };
    const first = await fork(adam.id, { fromEpoch: 2 }, headers);
    const again = await fork(adam.id, { fromEpoch: 2 }, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((again.body as JobView).id).toBe((first.body as JobView).id);
    expect((await fork(adam.id, { fromEpoch: 1 }, headers)).status).toBe(422);
    await finished((first.body as JobView).id);
  });

  it('trains a fork whose parent is deleted before it starts, and says its lineage ends there', async () => {
    const parent = await finished((await submit({ name: 'short-lived', epochs: 1 })).id);
    // The one worker thread is busy with another job meanwhile, so the fork waits in the queue.
    const blocker = await submit({ name: 'blocker', trainSamples: 20_000, epochs: 20 });
    const child = await forked(parent.id, { overrides: { epochs: 2 } });
    expect((await call('DELETE', `/jobs/${parent.id}`, alice)).status).toBe(204);
    expect(((await call('GET', `/jobs/${child.id}`, alice)).body as JobView).status).toBe('queued');
    expect((await call('POST', `/jobs/${blocker.id}/cancel`, alice)).status).toBeLessThan(300);
    const done = await finished(child.id);
    expect(done.status).toBe('completed');
    expect(done.metrics.epochs.map((epoch) => epoch.epoch)).toEqual([2]);
    const read = (await call('GET', `/jobs/${child.id}`, alice)).body as JobView;
    expect(read.parent).toMatchObject({ jobId: parent.id, epoch: 1, deleted: true });
    const history = (await call('GET', `/jobs/${child.id}/history?lineage=true`, alice)).body as HistoryBody;
    expect(history.lineage).toEqual([{ jobId: child.id, lastStep: 10 }]);
    expect(history.steps[0]?.step).toBe(6);
  });
});
