import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledDataset, datasets } from '../../src/domain/datasets.js';
import { specParameterCount, totalSteps } from '../../src/domain/model-shape.js';
import { parseSweepSpec } from '../../src/domain/sweeps/parse-sweep.js';
import { createJobsRepository, type JobsRepository } from '../../src/store/jobs-repository.js';
import { createSweepsRepository, type SweepsRepository } from '../../src/store/sweeps/sweeps-repository.js';
import { createSweepDriver } from '../../src/worker/sweep-driver.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger } from '../helpers/env.js';
import { parsedSmallSpec, smallSpec } from '../helpers/specs.js';

describe('sweep driver', () => {
  let database: TestDatabase;
  let sweeps: SweepsRepository;
  let jobs: JobsRepository;
  const queued: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('sweep_driver');
    sweeps = createSweepsRepository(database.prisma);
    jobs = createJobsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  const driver = (activeJobsPerOwner: number) =>
    createSweepDriver({
      sweeps,
      jobs,
      findDataset: (name) => Promise.resolve(bundledDataset(name)),
      enqueue: ({ id: jobId }) => {
        queued.push(jobId);
        return Promise.resolve();
      },
      announceCancel: () => Promise.resolve(),
      publish: () => undefined,
      logger: silentLogger(),
      leaseMs: 60_000,
      activeJobsPerOwner,
    });

  async function sweepOf(owner: string) {
    const parsed = parseSweepSpec(
      {
        name: `quota-${owner}`,
        base: smallSpec(),
        method: 'grid',
        parameters: { learningRate: { values: [0.1, 0.2, 0.3, 0.4] } },
        maxParallel: 4,
        objective: { metric: 'testAccuracy', goal: 'maximize' },
      },
      { maxParameters: 1e9 },
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    return sweeps.create({ id: randomUUID(), spec: parsed.sweep, runCount: parsed.configs.length, owner });
  }

  async function queuedJobOf(owner: string) {
    const spec = parsedSmallSpec();
    const mnist = datasets.mnist;
    await jobs.create({
      id: randomUUID(),
      spec,
      parameterCount: specParameterCount(spec, mnist),
      totalSteps: totalSteps(spec, mnist),
      owner,
    });
  }

  it("launches runs as jobs of the sweep's owner, no further than the owner's quota of active jobs", async () => {
    const carols = await sweepOf('carol');
    await queuedJobOf('carol');
    // Another owner's active jobs take nothing from carol's quota.
    await queuedJobOf('dave');
    await queuedJobOf('dave');
    const quotaOfThree = driver(3);
    await quotaOfThree.tick();
    const runs = await sweeps.runs(carols.id);
    // maxParallel would allow 4; carol's quota of 3 active jobs, one taken, leaves 2.
    expect(runs.map((run) => [run.sweepIndex, run.owner])).toEqual([
      [0, 'carol'],
      [1, 'carol'],
    ]);
    expect(queued).toEqual(runs.map((run) => run.id));
    expect(await jobs.countActive('carol')).toBe(3);

    // The sweep waits at the quota, and goes on once a job of its owner ends.
    await quotaOfThree.tick();
    expect(await sweeps.runs(carols.id)).toHaveLength(2);
    await jobs.requestCancel(runs[0]!.id);
    await quotaOfThree.tick();
    expect((await sweeps.runs(carols.id)).map((run) => run.sweepIndex)).toEqual([0, 1, 2]);
  });
});
