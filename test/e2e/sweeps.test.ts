import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Comparison } from '../../src/api/compare/schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';
import type { SweepView } from '../../src/api/sweeps/schemas.js';
import { ashaDecision } from '../../src/domain/sweeps/early-termination.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { smallSpec } from '../helpers/specs.js';
import { record } from '../helpers/websocket.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('sweeps through workers', () => {
  let stack: Stack;
  let address: string;
  const extraWorkers: ChildService[] = [];

  beforeAll(async () => {
    stack = await startStack('sweeps_e2e', { LOCK_DURATION_MS: '3000' });
    address = stack.api.address;
  });
  afterAll(async () => {
    for (const worker of extraWorkers) await worker.stop();
    await stack?.stop();
  });

  async function post(path: string, body?: unknown): Promise<Response> {
    return fetch(`${address}${path}`, {
      method: 'POST',
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
  }

  async function sweepOf(id: string): Promise<SweepView> {
    return (await (await fetch(`${address}/sweeps/${id}`)).json()) as SweepView;
  }

  async function untilEnded(id: string, onPoll?: (sweep: SweepView) => void): Promise<SweepView> {
    const deadline = Date.now() + 240_000;
    for (;;) {
      const sweep = await sweepOf(id);
      onPoll?.(sweep);
      if (sweep.status !== 'running') return sweep;
      if (Date.now() > deadline) throw new Error(`sweep never ended: ${JSON.stringify(sweep.counts)}`);
      await sleep(200);
    }
  }

  const base = smallSpec({
    trainSamples: 4000,
    testSamples: 200,
    validationSamples: 200,
    batchSize: 50,
    // Long enough that a run stopped at a rung is still training when the driver's next tick (up to
    // a second later) cancels it, even on a busy machine.
    epochs: 24,
  });

  it('rejects a bad sweep with 400s naming the parameter', async () => {
    const response = await post('/sweeps', {
      name: 'bad',
      base,
      method: 'grid',
      parameters: { 'model.layers[3].units': { values: [8] }, learningRate: { values: [0.1, 50] } },
      objective: { metric: 'validationAccuracy', goal: 'maximize' },
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; issues: { path: string }[] };
    expect(body.code).toBe('invalid_sweep');
    expect(body.issues.map((issue) => issue.path)).toEqual([
      'parameters.model.layers[3].units',
      'parameters.learningRate',
    ]);
  });

  it('runs an ASHA sweep: runs are jobs, rungs are decided once, stopped runs end cancelled with the reason', async () => {
    const response = await post('/sweeps', {
      name: 'asha-e2e',
      seed: 3,
      base,
      method: 'grid',
      parameters: { learningRate: { values: [0.1, 0.00001, 0.05, 0.000005] } },
      maxParallel: 1,
      objective: { metric: 'validationAccuracy', goal: 'maximize' },
      // Rungs at epochs 1 and 4: a stopped run has epochs left for the cancel to land in.
      earlyTermination: { type: 'asha', minEpochs: 1, reductionFactor: 4 },
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as SweepView;
    expect(response.headers.get('location')).toBe(`/sweeps/${created.id}`);
    expect(created.counts.pending).toBe(4);
    const events = await record(`${address.replace(/^http/, 'ws')}/sweeps/${created.id}/events`);

    let mostActive = 0;
    const sweep = await untilEnded(created.id, (seen) => {
      mostActive = Math.max(mostActive, seen.counts.queued + seen.counts.running);
    });
    await events.closed;
    expect(sweep.status).toBe('completed');
    expect(mostActive).toBeLessThanOrEqual(1);
    expect(sweep.leaderboard.map((entry) => entry.index).sort()).toEqual([0, 1, 2, 3]);

    // Every decision was taken once, and agrees with ASHA over the values recorded before it.
    const decisions = await stack.database.prisma.sweepDecision.findMany({
      where: { sweepId: created.id },
      orderBy: { createdAt: 'asc' },
    });
    const seenAt = new Map<number, number[]>();
    for (const decision of decisions) {
      const earlier = seenAt.get(decision.epoch) ?? [];
      const rule = { type: 'asha' as const, minEpochs: 1, reductionFactor: 4 };
      expect(ashaDecision(rule, 'maximize', decision.epoch, decision.value, earlier).stop).toBe(decision.stop);
      seenAt.set(decision.epoch, [...earlier, decision.value]);
    }
    const stopped = decisions.filter((decision) => decision.stop);
    expect(stopped.length).toBeGreaterThan(0);
    for (const decision of stopped) {
      const job = (await (await fetch(`${address}/jobs/${decision.jobId}`)).json()) as JobView;
      expect(job.status).toBe('cancelled');
      expect(job.cancelReason).toBe(decision.reason);
      expect(job.cancelReason).toMatch(
        /^asha: rung at epoch \d+, objective [\d.]+ not in top 1\/4 \(rank \d of \d runs\)$/,
      );
      expect(job.metrics.epochs.length).toBeGreaterThanOrEqual(decision.epoch);
      expect(job.sweep?.id).toBe(created.id);
    }
    expect(sweep.epochs.planned).toBe(4 * 24);
    expect(sweep.epochs.trained).toBeLessThan(4 * 24);

    // Best first; the best run and its parameters; the spread per parameter.
    const objectives = sweep.leaderboard.map((entry) => entry.objective ?? -1);
    expect(objectives).toEqual([...objectives].sort((a, b) => b - a));
    expect(sweep.best?.jobId).toBe(sweep.leaderboard[0]?.jobId);
    expect(sweep.best?.parameters).toHaveProperty('learningRate');
    expect(sweep.parameterSpread[0]?.values.map((value) => value.value)).toEqual([0.000005, 0.00001, 0.05, 0.1]);

    const types = events.messages.map((message) => message.type);
    expect(types.filter((type) => type === 'run-started')).toHaveLength(4);
    expect(types).toContain('run-stopped');
    expect(types).toContain('new-best');
    expect(types.at(-1)).toBe('sweep-finished');

    const list = (await (await fetch(`${address}/sweeps`)).json()) as { sweeps: { id: string }[] };
    expect(list.sweeps.map((entry) => entry.id)).toContain(created.id);
    const comparison = (await (await fetch(`${address}/compare?sweep=${created.id}&top=2`)).json()) as Comparison;
    expect(comparison.runs.map((run) => run.id)).toEqual(sweep.leaderboard.slice(0, 2).map((entry) => entry.jobId));
    expect((await post(`/sweeps/${created.id}/cancel`)).status).toBe(409);
  });

  it('stops runs by the median rule, with a reason naming it and the epoch', async () => {
    const response = await post('/sweeps', {
      name: 'median-e2e',
      // Long enough that the hopeless run is still training when the stop decided at epoch 2 lands.
      base: { ...base, epochs: 40 },
      method: 'grid',
      parameters: { learningRate: { values: [0.1, 0.000005] } },
      maxParallel: 1,
      objective: { metric: 'validationLoss', goal: 'minimize' },
      earlyTermination: { type: 'median', minEpochs: 2 },
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as SweepView;
    const sweep = await untilEnded(created.id);
    expect(sweep.status).toBe('completed');
    const [good, hopeless] = [...sweep.leaderboard].sort((a, b) => a.index - b.index);
    // The first run has no peers; the second, far worse than its running average, stops at epoch 2.
    expect(good?.status).toBe('completed');
    expect(good?.epochsCompleted).toBe(40);
    expect(hopeless?.status).toBe('cancelled');
    expect(hopeless?.stoppedReason).toMatch(
      /^median: at epoch 2, best objective [\d.]+ worse than the median [\d.]+ of 1 other runs$/,
    );
    const decisions = await stack.database.prisma.sweepDecision.findMany({ where: { sweepId: created.id } });
    expect(decisions.filter((decision) => decision.stop).map((decision) => [decision.jobId, decision.epoch])).toEqual([
      [hopeless?.jobId, 2],
    ]);
  });

  it('survives the kill of the worker driving it: no run launched twice, none lost', async () => {
    const response = await post('/sweeps', {
      name: 'kill-e2e',
      base: smallSpec({ trainSamples: 600, testSamples: 100, epochs: 3, batchSize: 50 }),
      method: 'grid',
      parameters: { learningRate: { values: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06] } },
      maxParallel: 2,
      objective: { metric: 'testAccuracy', goal: 'maximize' },
    });
    const created = (await response.json()) as SweepView;
    for (;;) {
      const sweep = await sweepOf(created.id);
      if (sweep.counts.pending <= 4 && sweep.counts.running > 0) break;
      await sleep(50);
    }
    await stack.worker.stop('SIGKILL');
    const successor = spawnService('worker', stack.config);
    extraWorkers.push(successor);
    let mostActive = 0;
    const sweep = await untilEnded(created.id, (seen) => {
      mostActive = Math.max(mostActive, seen.counts.queued + seen.counts.running);
    });
    expect(sweep.status).toBe('completed');
    expect(mostActive).toBeLessThanOrEqual(2);
    const runs = await stack.database.prisma.job.findMany({ where: { sweepId: created.id } });
    expect(runs.map((run) => run.sweepIndex).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(runs.map((run) => run.status)).toEqual(Array(6).fill('completed'));
  });

  it('cancels a sweep: no more runs, its runs cancelled with the reason', async () => {
    const response = await post('/sweeps', {
      name: 'cancel-e2e',
      base: smallSpec({ trainSamples: 2000, testSamples: 100, epochs: 20, batchSize: 50 }),
      method: 'grid',
      parameters: { learningRate: { values: [0.01, 0.02, 0.03] } },
      maxParallel: 1,
      objective: { metric: 'testAccuracy', goal: 'maximize' },
    });
    const created = (await response.json()) as SweepView;
    while ((await sweepOf(created.id)).counts.pending === 3) await sleep(50);
    const cancelled = await post(`/sweeps/${created.id}/cancel`);
    expect(cancelled.status).toBe(200);
    await sleep(1500);
    const sweep = await sweepOf(created.id);
    expect(sweep.status).toBe('cancelled');
    expect(sweep.counts.pending).toBe(2);
    const run = (await (await fetch(`${address}/jobs/${sweep.leaderboard[0]?.jobId}`)).json()) as JobView;
    expect(run.cancelReason).toBe('sweep cancelled');
  });
});
