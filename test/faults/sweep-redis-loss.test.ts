import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepView } from '../../src/api/sweeps/schemas.js';
import { ashaDecision } from '../../src/domain/sweeps/early-termination.js';
import { deletePrefixedKeys } from '../../src/queue/redis.js';
import { redisUrl } from '../helpers/env.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { smallSpec } from '../helpers/specs.js';
import { record } from '../helpers/websocket.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rule = { type: 'asha' as const, minEpochs: 1, reductionFactor: 2 };

describe('a sweep through the loss of Redis data', () => {
  let stack: Stack;
  let address: string;

  beforeAll(async () => {
    stack = await startStack('sweep_redis_loss', { LOCK_DURATION_MS: '3000' });
    address = stack.api.address;
  });
  afterAll(() => stack?.stop());

  async function sweepOf(id: string): Promise<SweepView> {
    return (await (await fetch(`${address}/sweeps/${id}`)).json()) as SweepView;
  }

  it('finishes with every run launched once, none lost, and every rung decided once', async () => {
    const response = await fetch(`${address}/sweeps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'redis-loss',
        base: smallSpec({ trainSamples: 600, testSamples: 100, epochs: 4, batchSize: 50 }),
        method: 'grid',
        parameters: { learningRate: { values: [0.05, 0.00001, 0.02, 0.000005, 0.1, 0.000001] } },
        maxParallel: 2,
        objective: { metric: 'testAccuracy', goal: 'maximize' },
        earlyTermination: rule,
      }),
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as SweepView;

    // Mid-sweep: a run training, another queued behind it (one worker slot), others not launched.
    for (let seen = await sweepOf(created.id); ; seen = await sweepOf(created.id)) {
      if (seen.counts.running > 0 && seen.counts.queued > 0 && seen.counts.pending > 0) break;
      if (seen.status !== 'running') throw new Error('the sweep ended before Redis lost its data');
      await sleep(50);
    }
    // Everything of this deployment in Redis goes: the queue, its messages and locks, cancel
    // channels' state, the workers' registry. Other tests' keys (other prefixes) stay.
    await deletePrefixedKeys(redisUrl, stack.config.QUEUE_PREFIX);
    const flushedAt = Date.now();
    // A client that connects late still gets the whole story, replayed from Postgres.
    const late = await record(`${address.replace(/^http/, 'ws')}/sweeps/${created.id}/events`);

    const deadline = Date.now() + 240_000;
    let sweep = await sweepOf(created.id);
    while (sweep.status === 'running') {
      if (Date.now() > deadline) throw new Error(`sweep never ended: ${JSON.stringify(sweep.counts)}`);
      await sleep(200);
      sweep = await sweepOf(created.id);
    }
    await late.closed;
    expect(sweep.status).toBe('completed');
    expect(Date.now() - flushedAt).toBeGreaterThan(0);

    // Every configuration launched exactly once, each run trained by one attempt, none failed or left behind.
    const runs = await stack.database.prisma.job.findMany({ where: { sweepId: created.id } });
    expect(runs.map((run) => run.sweepIndex).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const run of runs) {
      expect({ index: run.sweepIndex, status: run.status }).toEqual({
        index: run.sweepIndex,
        status: expect.stringMatching(/^(completed|cancelled)$/) as string,
      });
      expect({ index: run.sweepIndex, attempts: run.attempts }).toEqual({ index: run.sweepIndex, attempts: 1 });
    }

    // Every rung decided once (the key allows no other) and as ASHA decides over the values before it.
    const decisions = await stack.database.prisma.sweepDecision.findMany({
      where: { sweepId: created.id },
      orderBy: [{ createdAt: 'asc' }, { jobId: 'asc' }],
    });
    const seenAt = new Map<number, number[]>();
    for (const decision of decisions) {
      const earlier = seenAt.get(decision.epoch) ?? [];
      expect(ashaDecision(rule, 'maximize', decision.epoch, decision.value, earlier).stop).toBe(decision.stop);
      seenAt.set(decision.epoch, [...earlier, decision.value]);
    }
    // Each run reached rung 1 and was decided there once.
    expect(decisions.filter((decision) => decision.epoch === 1)).toHaveLength(6);
    // A stopped run ends cancelled with the rule's reason, unless it finished its last epoch before the
    // cancel reached it (a short run on a busy machine): then it completed, and nothing else.
    for (const decision of decisions.filter((candidate) => candidate.stop)) {
      const run = runs.find((candidate) => candidate.id === decision.jobId);
      if (run?.status === 'completed')
        expect({ reason: run.cancelReason, epoch: run.epoch }).toEqual({ reason: null, epoch: 4 });
      else expect(run?.cancelReason).toBe(decision.reason);
    }

    // The late stream told of every run once, then the end.
    const started = late.messages.filter((message) => message.type === 'run-started').map((message) => message.index);
    expect([...started].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(late.messages.at(-1)?.type).toBe('sweep-finished');
  });
});
