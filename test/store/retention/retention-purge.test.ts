import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobView } from '../../../src/api/jobs/job-view.js';
import { parseJobSpec, type JobSpecInput } from '../../../src/domain/job-spec.js';
import { createPrismaClient, type PrismaClient } from '../../../src/store/database.js';
import { createExpiredRunsRepository, type ExpiredRunsRepository } from '../../../src/store/jobs/expired-runs.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createOwnerSettingsRepository } from '../../../src/store/owner-settings-repository.js';
import { purgeExpiredRuns } from '../../../src/worker/retention/purge.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { smallSpec } from '../../helpers/specs.js';

function parsedSpec(overrides: Partial<JobSpecInput> = {}) {
  const parsed = parseJobSpec(smallSpec(overrides), { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

// Every run here finished 40 days ago unless said otherwise, so a retention of 30 days (or of 10
// from alice's default, or of 20 from the server's) has expired and one of 60 or 90 has not.
describe('retention of finished runs', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  /** A client whose connections carry RUN_RETENTION_DAYS=20, as the API's and workers' do when it is set. */
  let withServerDefault: PrismaClient;
  let expired: ExpiredRunsRepository;
  const run: Record<string, string> = {};

  async function finishedRun(
    owner: string,
    spec: Partial<JobSpecInput> = {},
    options: { sweep?: { id: string; index: number }; finishWith?: PrismaClient; status?: 'completed' | 'failed' } = {},
  ) {
    const id = randomUUID();
    await jobs.create({ id, spec: parsedSpec(spec), parameterCount: 1, totalSteps: 64, owner, ...options });
    const ender = createJobsRepository(options.finishWith ?? database.prisma);
    const lease = randomUUID();
    await ender.claim(id, 'cpu', 60_000, lease);
    await ender.finish(id, options.status ?? 'completed', undefined, lease);
    await age(id, options.finishWith);
    return id;
  }

  /** Moves a run's end 40 days back; naming finished_at stamps its expiry again, as ending it did. */
  async function age(id: string, client: PrismaClient = database.prisma) {
    await client.$executeRaw`UPDATE jobs SET finished_at = now() - interval '40 days' WHERE id = ${id}::uuid`;
  }

  async function sweep(owner: string, retention?: { days: number | null }) {
    const id = randomUUID();
    await database.prisma.sweep.create({
      data: { id, name: 'sweep', owner, runCount: 2, spec: { name: 'sweep', ...(retention ? { retention } : {}) } },
    });
    return id;
  }

  async function fork(parentId: string, childId: string) {
    await database.prisma.jobFork.create({
      data: {
        jobId: childId,
        parentJobId: parentId,
        parentEpoch: 1,
        parentStep: 1,
        optimizerState: true,
        dataOrder: true,
      },
    });
  }

  const exists = async (id: string) => (await database.prisma.job.count({ where: { id } })) === 1;
  const viewOf = async (id: string) => {
    const job = await jobs.find(id);
    if (!job) throw new Error(`no job ${id}`);
    return jobView(job);
  };

  beforeAll(async () => {
    database = await createTestDatabase('retention_purge');
    jobs = createJobsRepository(database.prisma);
    withServerDefault = createPrismaClient(database.url, { poolSize: 2, runRetentionDays: 20 });
    expired = createExpiredRunsRepository(database.prisma);
    await createOwnerSettingsRepository(database.prisma).replace('alice', {
      retentionDays: 10,
      maxDurationSeconds: null,
    });

    run.ownRetentionExpired = await finishedRun('bob', { retention: { days: 30 } });
    run.ownRetentionNotExpired = await finishedRun('alice', { retention: { days: 60 } });
    run.ownKeepForever = await finishedRun('alice', { retention: { days: null } });
    run.ownerDefaultExpired = await finishedRun('alice', {}, { status: 'failed' });
    run.serverDefaultExpired = await finishedRun('bob', {}, { finishWith: withServerDefault });
    run.noRetention = await finishedRun('bob');
    run.pinned = await finishedRun('bob', { retention: { days: 30 } });
    await jobs.editJob(run.pinned, { pinned: true });
    const unfinished = await jobs.create({
      id: randomUUID(),
      spec: parsedSpec({ retention: { days: 1 } }),
      parameterCount: 1,
      totalSteps: 64,
      owner: 'bob',
    });
    run.unfinished = unfinished.id;

    // A sweep's retention applies to its runs over the owner's default, unless a run sets its own.
    const aliceSweep = await sweep('alice', { days: 90 });
    run.sweepOverOwner = await finishedRun('alice', {}, { sweep: { id: aliceSweep, index: 0 } });
    const bobSweep = await sweep('bob', { days: 30 });
    run.sweepExpired = await finishedRun('bob', {}, { sweep: { id: bobSweep, index: 0 } });
    run.jobOverSweep = await finishedRun('bob', { retention: { days: 90 } }, { sweep: { id: bobSweep, index: 1 } });

    // An expired parent whose fork is still queued stays until the fork ends.
    run.parentOfActive = await finishedRun('bob', { retention: { days: 30 } });
    const child = await jobs.create({
      id: randomUUID(),
      spec: parsedSpec(),
      parameterCount: 1,
      totalSteps: 64,
      owner: 'bob',
    });
    run.activeChild = child.id;
    await fork(run.parentOfActive, run.activeChild);

    // One with a history, epochs and a model's worth of rows, to see them go with it.
    const withHistory = await insertFinishedRun(jobs, { retention: { days: 30 } });
    run.withHistory = withHistory.id;
    await age(run.withHistory);
  });

  afterAll(async () => {
    await withServerDefault?.$disconnect();
    await database?.drop();
  });

  it('stamps each finished run with its retention by precedence: job, sweep, owner, server', async () => {
    const retention = async (id: string) => (await viewOf(id)).retention;
    expect(await retention(run.ownRetentionExpired!)).toEqual({ days: 30, source: 'job' });
    expect(await retention(run.ownRetentionNotExpired!)).toEqual({ days: 60, source: 'job' });
    expect(await retention(run.ownKeepForever!)).toEqual({ days: null, source: 'job' });
    expect(await retention(run.ownerDefaultExpired!)).toEqual({ days: 10, source: 'owner' });
    expect(await retention(run.serverDefaultExpired!)).toEqual({ days: 20, source: 'server' });
    expect(await retention(run.noRetention!)).toBeNull();
    expect(await retention(run.sweepOverOwner!)).toEqual({ days: 90, source: 'sweep' });
    expect(await retention(run.sweepExpired!)).toEqual({ days: 30, source: 'sweep' });
    expect(await retention(run.jobOverSweep!)).toEqual({ days: 90, source: 'job' });
    expect(await retention(run.unfinished!)).toBeNull();
  });

  it('answers the expiry on the job, and none while it is pinned, unfinished or kept forever', async () => {
    const view = await viewOf(run.ownRetentionNotExpired!);
    expect(Date.parse(view.expiresAt!) - Date.parse(view.finishedAt!)).toBe(60 * 86_400_000);
    expect((await viewOf(run.pinned!)).expiresAt).toBeNull();
    expect((await viewOf(run.unfinished!)).expiresAt).toBeNull();
    expect((await viewOf(run.ownKeepForever!)).expiresAt).toBeNull();
    expect((await viewOf(run.noRetention!)).expiresAt).toBeNull();
  });

  it('previews exactly the expired, unpinned, ended runs without active forks, and what it holds back', async () => {
    const preview = await expired.removableRuns(100);
    expect(new Set(preview.map((listed) => listed.id))).toEqual(
      new Set([
        run.ownRetentionExpired,
        run.ownerDefaultExpired,
        run.serverDefaultExpired,
        run.sweepExpired,
        run.withHistory,
      ]),
    );
    expect(await expired.countRemovable()).toBe(5);
    expect(await expired.countRemovable('alice')).toBe(1);
    expect(preview.find((listed) => listed.id === run.withHistory)?.bytes).toBeGreaterThan(0);
    const heldBack = await expired.heldBackRuns(100);
    expect(heldBack.map(({ id, reason }) => ({ id, reason })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [
        { id: run.pinned, reason: 'pinned' },
        { id: run.parentOfActive, reason: 'active-children' },
      ].sort((a, b) => a.id!.localeCompare(b.id!)),
    );
  });

  it('deletes what the preview listed, with everything they held, in batches, and nothing else', async () => {
    const previewed = (await expired.removableRuns(100)).map((listed) => listed.id);
    const before = new Set((await database.prisma.job.findMany({ select: { id: true } })).map((row) => row.id));
    const batches: number[] = [];
    const result = await purgeExpiredRuns(
      { runs: expired, logger: silentLogger(), onBatch: ({ runs }) => batches.push(runs) },
      { batchSize: 2, pauseMs: 1 },
    );
    const after = new Set((await database.prisma.job.findMany({ select: { id: true } })).map((row) => row.id));
    const deleted = [...before].filter((id) => !after.has(id));
    expect(new Set(deleted)).toEqual(new Set(previewed));
    expect(result.runs).toBe(5);
    expect(batches).toEqual([2, 2, 1]);
    expect(await database.prisma.stepChunk.count({ where: { jobId: run.withHistory! } })).toBe(0);
    expect(await database.prisma.epochMetric.count({ where: { jobId: run.withHistory! } })).toBe(0);
    for (const kept of ['pinned', 'unfinished', 'noRetention', 'ownKeepForever', 'parentOfActive', 'jobOverSweep'])
      expect(await exists(run[kept]!), kept).toBe(true);
  });

  it('lets go of a parent once its fork has ended, keeping the fork', async () => {
    const lease = randomUUID();
    await jobs.claim(run.activeChild!, 'cpu', 60_000, lease);
    await jobs.finish(run.activeChild!, 'completed', undefined, lease);
    const result = await purgeExpiredRuns({ runs: expired, logger: silentLogger() }, { batchSize: 50, pauseMs: 1 });
    expect(result.runs).toBe(1);
    expect(await exists(run.parentOfActive!)).toBe(false);
    expect(await exists(run.activeChild!)).toBe(true);
  });

  it('lets an unpinned run go, and reaches runs already finished when an owner default changes', async () => {
    await jobs.editJob(run.pinned!, { pinned: false });
    expect((await viewOf(run.pinned!)).expiresAt).not.toBeNull();
    // bob's run that had no retention at all takes a new owner default of 30 days at once.
    await createOwnerSettingsRepository(database.prisma).replace('bob', {
      retentionDays: 30,
      maxDurationSeconds: null,
    });
    expect((await viewOf(run.noRetention!)).retention).toEqual({ days: 30, source: 'owner' });
    const preview = (await expired.removableRuns(100)).map((listed) => listed.id).sort();
    expect(preview).toEqual([run.pinned!, run.noRetention!].sort());
    await purgeExpiredRuns({ runs: expired, logger: silentLogger() }, { batchSize: 50, pauseMs: 1 });
    expect(await exists(run.pinned!)).toBe(false);
    expect(await exists(run.noRetention!)).toBe(false);
    // A run's own keep-forever is not overridden by any default.
    expect(await exists(run.ownKeepForever!)).toBe(true);
  });

  it('gives runs that ended with no retention the server default once one is set, then purges them', async () => {
    const unstamped = await finishedRun('carol');
    expect((await viewOf(unstamped)).retention).toBeNull();
    // Without the setting on its connections, a purge leaves it as it is.
    await purgeExpiredRuns({ runs: expired, logger: silentLogger() }, { batchSize: 50, pauseMs: 1 });
    expect(await exists(unstamped)).toBe(true);
    // A worker started with RUN_RETENTION_DAYS=20: the run ended 40 days ago, so it goes.
    const result = await purgeExpiredRuns(
      { runs: createExpiredRunsRepository(withServerDefault), logger: silentLogger() },
      { batchSize: 50, pauseMs: 1, stampServerDefault: true },
    );
    expect(result.runs).toBe(1);
    expect(await exists(unstamped)).toBe(false);
    expect(await exists(run.ownKeepForever!)).toBe(true);
  });
});
