import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../src/domain/job-spec.js';
import { createJobsRepository, type JobsRepository } from '../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { smallSpec } from '../helpers/specs.js';

describe('jobs repository', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('repository');
    jobs = createJobsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  async function readAll<T>(pages: AsyncIterable<readonly T[]>): Promise<T[]> {
    const all: T[] = [];
    for await (const page of pages) all.push(...page);
    return all;
  }

  async function newJob() {
    const parsed = parseJobSpec(smallSpec(), { maxParameters: 1e9 });
    if (!parsed.ok) throw new Error('bad spec');
    return jobs.create({ id: randomUUID(), spec: parsed.spec, parameterCount: 1, totalSteps: 64 });
  }

  it('writes steps idempotently: a batch written twice leaves each step once, with its last value', async () => {
    const job = await newJob();
    const batch = Array.from({ length: 40 }, (_, index) => ({ step: index + 1, epoch: 1, loss: 2 - index / 100 }));
    await jobs.recordSteps(job.id, batch);
    await jobs.recordSteps(
      job.id,
      batch.slice(10, 30).map((step) => ({ ...step, loss: 9 })),
    );
    const history = await readAll(jobs.historyPages(job.id));
    expect(history.map((step) => step.step)).toEqual(batch.map((step) => step.step));
    expect(history[15]?.loss).toBe(9);
    expect(history[35]?.loss).toBeCloseTo(2 - 35 / 100, 10);
    const reread = await jobs.find(job.id);
    expect(reread?.step).toBe(40);
    expect(reread?.epoch).toBe(1);
  });

  it('reads a history in pages of the requested size, within the requested range, and gives its extent', async () => {
    const job = await newJob();
    expect(await jobs.historyExtent(job.id)).toEqual({ count: 0, lastStep: 0 });
    expect(await readAll(jobs.historyPages(job.id))).toEqual([]);
    const steps = Array.from({ length: 25 }, (_, index) => ({
      step: index + 1,
      epoch: index < 12 ? 1 : 2,
      loss: index / 7,
    }));
    await jobs.recordSteps(job.id, steps);
    expect(await jobs.historyExtent(job.id)).toEqual({ count: 25, lastStep: 25 });
    const pages: number[][] = [];
    for await (const page of jobs.historyPages(job.id, { pageSize: 10 })) pages.push(page.map((step) => step.step));
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(steps.map((step) => step.step));
    // An exact multiple of the page size ends without an empty page.
    const ranged: number[][] = [];
    for await (const page of jobs.historyPages(job.id, { after: 3, through: 22, pageSize: 5 }))
      ranged.push(page.map((step) => step.step));
    expect(ranged).toEqual([
      [4, 5, 6, 7, 8],
      [9, 10, 11, 12, 13],
      [14, 15, 16, 17, 18],
      [19, 20, 21, 22],
    ]);
    expect((await readAll(jobs.historyPages(job.id, { after: 20 })))[0]).toEqual({ step: 21, epoch: 2, loss: 20 / 7 });
  });

  it('moves status only forward: a finished job cannot be claimed or finished again', async () => {
    const job = await newJob();
    expect(job.status).toBe('queued');
    const claimed = await jobs.claim(job.id, 'cpu', 60_000, randomUUID());
    expect(claimed).toMatchObject({ outcome: 'claimed', job: { status: 'running', attempts: 1, backend: 'cpu' } });
    expect(claimed.outcome === 'claimed' && claimed.job.startedAt).toBeInstanceOf(Date);
    expect(await jobs.finish(job.id, 'completed')).toBe('completed');
    expect(await jobs.finish(job.id, 'failed', 'late')).toBeNull();
    expect(await jobs.claim(job.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'gone' });
    expect((await jobs.find(job.id))?.status).toBe('completed');
  });

  it('lets only one attempt hold a running job until its lease runs out, and only it renew or end it', async () => {
    const job = await newJob();
    const first = randomUUID();
    expect((await jobs.claim(job.id, 'cpu', 60_000, first)).outcome).toBe('claimed');
    expect(await jobs.claim(job.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'busy' });
    expect(await jobs.orphaned()).not.toContainEqual(expect.objectContaining({ id: job.id }));
    expect(await jobs.extendLease(job.id, randomUUID(), 60_000)).toBe(false);
    expect(await jobs.extendLease(job.id, first, 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await jobs.orphaned()).toContainEqual(expect.objectContaining({ id: job.id, status: 'running' }));
    const second = randomUUID();
    expect(await jobs.claim(job.id, 'cpu', 60_000, second)).toMatchObject({ outcome: 'claimed', job: { attempts: 2 } });
    // The first attempt has lost the job: it can neither renew the lease nor end the job.
    expect(await jobs.extendLease(job.id, first, 60_000)).toBe(false);
    expect(await jobs.finish(job.id, 'completed', undefined, first)).toBeNull();
    expect(await jobs.finish(job.id, 'completed', undefined, second)).toBe('completed');
  });

  it('ends a job cancelled while no worker held it when it is next claimed', async () => {
    const job = await newJob();
    expect(await jobs.requestCancel(job.id)).toBe('cancelled');
    expect(await jobs.claim(job.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'gone' });
    const running = await newJob();
    const owner = randomUUID();
    await jobs.claim(running.id, 'cpu', 60_000, owner);
    expect(await jobs.requestCancel(running.id)).toBe('requested');
    // Its worker still holds it: the cancel is left to that worker.
    expect(await jobs.claim(running.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'busy' });
    await jobs.extendLease(running.id, owner, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await jobs.claim(running.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'cancelled' });
    expect((await jobs.find(running.id))?.status).toBe('cancelled');
  });

  it('ends a job cancelled when its cancel was committed before the final write, and refuses a later cancel', async () => {
    const job = await newJob();
    const owner = randomUUID();
    await jobs.claim(job.id, 'cpu', 60_000, owner);
    expect(await jobs.requestCancel(job.id)).toBe('requested');
    expect(await jobs.finish(job.id, 'failed', 'diverged', owner)).toBe('cancelled');
    expect(await jobs.find(job.id)).toMatchObject({ status: 'cancelled', error: null });

    const late = await newJob();
    const lateOwner = randomUUID();
    await jobs.claim(late.id, 'cpu', 60_000, lateOwner);
    expect(await jobs.finish(late.id, 'completed', undefined, lateOwner)).toBe('completed');
    expect(await jobs.requestCancel(late.id)).toBe('finished');
    expect(await jobs.find(late.id)).toMatchObject({ status: 'completed', cancelRequestedAt: null });
  });

  it('pages through every orphaned job', async () => {
    const created = await Promise.all(Array.from({ length: 7 }, () => newJob()));
    const seen: string[] = [];
    for (let page = await jobs.orphaned(undefined, 3); page.length > 0; page = await jobs.orphaned(page.at(-1), 3)) {
      seen.push(...page.map((row) => row.id));
    }
    for (const job of created) expect(seen).toContain(job.id);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('stores epoch metrics once per epoch', async () => {
    const job = await newJob();
    const metrics = {
      epoch: 1,
      testAccuracy: 0.9,
      testLoss: 0.3,
      trainLoss: 0.4,
      durationMs: 100,
      samplesPerSecond: 1000,
    };
    await jobs.recordEpoch(job.id, metrics);
    await jobs.recordEpoch(job.id, { ...metrics, testAccuracy: 0.91 });
    const reread = await jobs.find(job.id);
    expect(reread?.epochs).toHaveLength(1);
    expect(reread?.epochs[0]?.testAccuracy).toBe(0.91);
  });
});
