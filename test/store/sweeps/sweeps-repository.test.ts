import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasets } from '../../../src/domain/datasets.js';
import { specParameterCount, totalSteps } from '../../../src/domain/model-shape.js';
import { parseSweepSpec } from '../../../src/domain/sweeps/parse-sweep.js';
import type { SweepConfig, SweepSpec } from '../../../src/domain/sweeps/sweep-spec.js';
import { createEpochMetricsRepository } from '../../../src/store/jobs-repository.js';
import { createSweepsRepository, type SweepsRepository } from '../../../src/store/sweeps/sweeps-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { smallSpec } from '../../helpers/specs.js';

const mnist = datasets.mnist;

function generated(): { spec: SweepSpec; configs: SweepConfig[] } {
  const parsed = parseSweepSpec(
    {
      name: 'store',
      base: smallSpec(),
      method: 'grid',
      parameters: { learningRate: { values: [0.1, 0.2, 0.3] } },
      objective: { metric: 'testAccuracy', goal: 'maximize' },
    },
    { maxParameters: 1e9 },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return { spec: parsed.sweep, configs: parsed.configs };
}

const runOf = (sweepId: string, config: SweepConfig) => ({
  id: randomUUID(),
  spec: config.spec,
  parameterCount: specParameterCount(config.spec, mnist),
  totalSteps: totalSteps(config.spec, mnist),
  inputShape: mnist.inputShape,
  sweep: { id: sweepId, index: config.index },
});

describe('sweeps repository', () => {
  let database: TestDatabase;
  let sweeps: SweepsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('sweeps_repository');
    sweeps = createSweepsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('lets one driver hold a sweep at a time, until its lease runs out', async () => {
    const { spec, configs } = generated();
    const sweep = await sweeps.create({ id: randomUUID(), spec, runCount: configs.length });
    const [first, second] = [randomUUID(), randomUUID()];
    expect(await sweeps.holdLeases(first, 60_000)).toContain(sweep.id);
    expect(await sweeps.holdLeases(second, 60_000)).not.toContain(sweep.id);
    expect(await sweeps.holdLeases(first, 60_000)).toContain(sweep.id);
    await database.prisma.sweep.update({ where: { id: sweep.id }, data: { leaseExpiresAt: new Date(0) } });
    expect(await sweeps.holdLeases(second, 60_000)).toContain(sweep.id);
    expect(await sweeps.holdLeases(first, 60_000)).not.toContain(sweep.id);
  });

  it('launches each index once, only for the lease holder, and none after the sweep ended', async () => {
    const { spec, configs } = generated();
    const sweep = await sweeps.create({ id: randomUUID(), spec, runCount: configs.length });
    const owner = randomUUID();
    await sweeps.holdLeases(owner, 60_000);
    const [config0, config1] = configs as [SweepConfig, SweepConfig];
    const racing = await Promise.all([
      sweeps.launchRun(owner, runOf(sweep.id, config0)),
      sweeps.launchRun(owner, runOf(sweep.id, config0)),
    ]);
    expect(racing.filter((run) => run !== null)).toHaveLength(1);
    expect(await sweeps.launchRun(randomUUID(), runOf(sweep.id, config1))).toBeNull();
    expect(await sweeps.end(sweep.id, 'cancelled')).toBe(true);
    expect(await sweeps.end(sweep.id, 'completed')).toBe(false);
    expect(await sweeps.launchRun(owner, runOf(sweep.id, config1))).toBeNull();
    expect((await sweeps.runs(sweep.id)).map((run) => run.sweepIndex)).toEqual([0]);
  });

  it('records a decision on a run and epoch once', async () => {
    const { spec, configs } = generated();
    const sweep = await sweeps.create({ id: randomUUID(), spec, runCount: configs.length });
    const owner = randomUUID();
    await sweeps.holdLeases(owner, 60_000);
    const run = await sweeps.launchRun(owner, runOf(sweep.id, configs[0] as SweepConfig));
    if (!run) throw new Error('not launched');
    await createEpochMetricsRepository(database.prisma).recordEpoch(run.id, {
      epoch: 1,
      testAccuracy: 0.5,
      testLoss: 1,
      trainLoss: 1,
      durationMs: 1,
      samplesPerSecond: 1,
    });
    const decision = { sweepId: sweep.id, jobId: run.id, epoch: 1, rule: 'asha', value: 0.5 };
    expect(await sweeps.recordDecision({ ...decision, stop: true, reason: 'asha: first' })).toBe(true);
    expect(await sweeps.recordDecision({ ...decision, stop: false, reason: null })).toBe(false);
    expect(await sweeps.decisions(sweep.id)).toMatchObject([{ stop: true, reason: 'asha: first' }]);
  });
});
