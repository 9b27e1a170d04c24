import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withConnection } from '../../../src/store/database.js';
import { crashedAttempts } from '../../../src/worker/attempt-limits.js';
import {
  createJobRecordsRepository,
  createStepHistoryRepository,
  type JobRecordsRepository,
} from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuedJob, runningJob } from './queued-job.js';

describe('job records repository', () => {
  let database: TestDatabase;
  let jobs: JobRecordsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('job_records');
    jobs = createJobRecordsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('moves status only forward: a finished job cannot be claimed or finished again', async () => {
    const job = await queuedJob(jobs);
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
    const job = await queuedJob(jobs);
    const first = randomUUID();
    expect((await jobs.claim(job.id, 'cpu', 60_000, first)).outcome).toBe('claimed');
    expect(await jobs.claim(job.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'busy' });
    expect(await jobs.orphaned()).not.toContainEqual(expect.objectContaining({ id: job.id }));
    expect(await jobs.extendLease(job.id, randomUUID(), 60_000)).toBe(false);
    expect(await jobs.extendLease(job.id, first, 1)).toBe(true);
    await sleep(20);
    expect(await jobs.orphaned()).toContainEqual(expect.objectContaining({ id: job.id, status: 'running' }));
    const second = randomUUID();
    expect(await jobs.claim(job.id, 'cpu', 60_000, second)).toMatchObject({ outcome: 'claimed', job: { attempts: 2 } });
    // The first attempt has lost the job: it can neither renew the lease nor end the job.
    expect(await jobs.extendLease(job.id, first, 60_000)).toBe(false);
    expect(await jobs.finish(job.id, 'completed', undefined, first)).toBeNull();
    expect(await jobs.finish(job.id, 'completed', undefined, second)).toBe('completed');
  });

  it('puts a handed-back job in the queue again without counting a crash, for the owner only', async () => {
    const { id, owner } = await runningJob(jobs);
    await jobs.handBack(id, randomUUID());
    expect(await jobs.find(id)).toMatchObject({ status: 'running', handedBack: 0 });
    await jobs.handBack(id, owner);
    expect(await jobs.find(id)).toMatchObject({
      status: 'queued',
      handedBack: 1,
      leaseOwner: null,
      leaseExpiresAt: null,
    });
    expect(await jobs.claim(id, 'cpu', 60_000, randomUUID())).toMatchObject({
      outcome: 'claimed',
      job: { attempts: 2 },
    });
  });

  it('puts a job whose training thread died in the queue again, counted as a crashed attempt', async () => {
    const { id, owner } = await runningJob(jobs);
    await jobs.handBack(id, owner, { crashed: true });
    expect(await jobs.find(id)).toMatchObject({ status: 'queued', handedBack: 0, leaseOwner: null });
    const claim = await jobs.claim(id, 'cpu', 60_000, randomUUID());
    expect(claim).toMatchObject({ outcome: 'claimed', job: { attempts: 2, handedBack: 0 } });
    if (claim.outcome === 'claimed') expect(crashedAttempts(claim.job)).toBe(1);
  });

  it('ends a job cancelled while no worker held it when it is next claimed', async () => {
    const job = await queuedJob(jobs);
    expect(await jobs.requestCancel(job.id)).toBe('cancelled');
    expect(await jobs.claim(job.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'gone' });
    const running = await queuedJob(jobs);
    const owner = randomUUID();
    await jobs.claim(running.id, 'cpu', 60_000, owner);
    expect(await jobs.requestCancel(running.id)).toBe('requested');
    // Its worker still holds it: the cancel is left to that worker.
    expect(await jobs.claim(running.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'busy' });
    await jobs.extendLease(running.id, owner, 1);
    await sleep(20);
    expect(await jobs.claim(running.id, 'cpu', 60_000, randomUUID())).toEqual({ outcome: 'cancelled' });
    expect((await jobs.find(running.id))?.status).toBe('cancelled');
  });

  it('answers a cancel by what it did: cancelled, requested, finished, or null for no such job', async () => {
    const queued = await queuedJob(jobs);
    expect(await jobs.requestCancel(queued.id)).toBe('cancelled');
    expect(await jobs.find(queued.id)).toMatchObject({ status: 'cancelled' });
    expect((await jobs.find(queued.id))?.finishedAt).toBeInstanceOf(Date);
    expect(await jobs.requestCancel(queued.id)).toBe('finished');
    const { id } = await runningJob(jobs);
    expect(await jobs.requestCancel(id)).toBe('requested');
    expect(await jobs.requestCancel(id)).toBe('requested');
    expect(await jobs.cancelRequested([id, queued.id, randomUUID()])).toEqual(expect.arrayContaining([id, queued.id]));
    expect(await jobs.requestCancel(randomUUID())).toBeNull();
  });

  it('writes cancelled, with no error, for a job whose cancel was requested before it finished', async () => {
    const { id, owner } = await runningJob(jobs);
    expect(await jobs.requestCancel(id)).toBe('requested');
    expect(await jobs.finish(id, 'failed', 'the loss diverged', owner)).toBe('cancelled');
    expect(await jobs.find(id)).toMatchObject({ status: 'cancelled', error: null });
    expect(await jobs.requestCancel(id)).toBe('finished');
  });

  it('decides for the cancel when its flag commits while finish waits for the row', async () => {
    const { id, owner } = await runningJob(jobs);
    let finished: string | null | undefined;
    await withConnection(database.url, async (client) => {
      await client.query('BEGIN');
      await client.query('UPDATE jobs SET cancel_requested_at = now() WHERE id = $1', [id]);
      const finishing = jobs.finish(id, 'completed', undefined, owner).then((status) => (finished = status));
      await sleep(200);
      // finish waits on the row lock of the uncommitted cancel.
      expect(finished).toBeUndefined();
      await client.query('COMMIT');
      await finishing;
    });
    expect(finished).toBe('cancelled');
  });

  it('refuses a cancel whose statement waited for the final status to commit', async () => {
    const { id } = await runningJob(jobs);
    let answer: string | null | undefined;
    await withConnection(database.url, async (client) => {
      await client.query('BEGIN');
      await client.query(`UPDATE jobs SET status = 'completed', finished_at = now() WHERE id = $1`, [id]);
      const cancelling = jobs.requestCancel(id).then((result) => (answer = result));
      await sleep(200);
      expect(answer).toBeUndefined();
      await client.query('COMMIT');
      await cancelling;
    });
    expect(answer).toBe('finished');
    expect(await jobs.find(id)).toMatchObject({ status: 'completed', cancelRequestedAt: null });
  });

  it('never lets a cancel answer and the final status disagree when both run at once', async () => {
    const seen = { requested: 0, finished: 0 };
    for (let round = 0; round < 120; round++) {
      const { id, owner } = await runningJob(jobs);
      const asked = round % 2 === 0 ? 'completed' : 'failed';
      // Staggered by up to a few ms either way, so both orders and true overlaps happen.
      const lead = (round % 7) - 3;
      const [answer, written] = await Promise.all([
        sleep(Math.max(0, lead)).then(() => jobs.requestCancel(id)),
        sleep(Math.max(0, -lead)).then(() => jobs.finish(id, asked, asked === 'failed' ? 'boom' : undefined, owner)),
      ]);
      const stored = await jobs.find(id);
      if (answer === 'requested') {
        seen.requested++;
        expect(written).toBe('cancelled');
        expect(stored).toMatchObject({ status: 'cancelled', error: null });
      } else {
        seen.finished++;
        expect(answer).toBe('finished');
        expect(written).toBe(asked);
        expect(stored).toMatchObject({
          status: asked,
          error: asked === 'failed' ? 'boom' : null,
          cancelRequestedAt: null,
        });
      }
    }
    // Both outcomes happened, so the race was really run both ways.
    expect(seen.requested).toBeGreaterThan(0);
    expect(seen.finished).toBeGreaterThan(0);
  });

  it('pages through every orphaned job', async () => {
    const created = await Promise.all(Array.from({ length: 7 }, () => queuedJob(jobs)));
    const seen: string[] = [];
    for (let page = await jobs.orphaned(undefined, 3); page.length > 0; page = await jobs.orphaned(page.at(-1), 3)) {
      seen.push(...page.map((row) => row.id));
    }
    for (const job of created) expect(seen).toContain(job.id);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('rewinds the record to the point an attempt resumes from', async () => {
    const { id } = await runningJob(jobs);
    await createStepHistoryRepository(database.prisma).recordSteps(
      id,
      Array.from({ length: 30 }, (_, index) => ({ step: index + 1, epoch: 1 + Math.floor(index / 10), loss: 1 })),
    );
    const epoch = { testAccuracy: 0.5, testLoss: 1, trainLoss: 1, durationMs: 1, samplesPerSecond: 1 };
    await database.prisma.epochMetric.createMany({
      data: [1, 2].map((number) => ({ jobId: id, epoch: number, ...epoch })),
    });
    await jobs.rewindTo(id, { step: 10, completedEpochs: 1, progressEpoch: 1 });
    expect(await database.prisma.stepLoss.count({ where: { jobId: id } })).toBe(10);
    expect((await jobs.find(id))?.epochs.map((metric) => metric.epoch)).toEqual([1]);
    expect(await jobs.find(id)).toMatchObject({ step: 10, epoch: 1 });
  });
});

describe('job records: stored specs', () => {
  let database: TestDatabase;
  let jobs: JobRecordsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('stored_specs');
    jobs = createJobRecordsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('stores a spec with its seed, and one without a seed with seed 0, the one it trains with', async () => {
    const seeded = await queuedJob(jobs, { seed: 42 });
    expect(seeded.spec?.seed).toBe(42);
    const unseeded = await queuedJob(jobs, { seed: undefined });
    expect(unseeded.spec?.seed).toBe(0);
    const row = await database.prisma.job.findUnique({ where: { id: unseeded.id }, select: { spec: true } });
    expect(row?.spec).toMatchObject({ seed: 0, optimizer: 'sgd', dataset: 'mnist' });
  });

  it('reads every job back with its spec parsed, defaults included', async () => {
    const job = await queuedJob(jobs);
    const read = await jobs.find(job.id);
    expect(read?.specError).toBeNull();
    expect(read?.spec).toMatchObject({
      seed: 7,
      epochs: 2,
      optimizer: 'sgd',
      model: { layers: [{ activation: 'relu' }, { activation: 'linear' }] },
    });
  });

  it('returns a job whose stored spec no longer parses with the reason, in finds, lists and claims', async () => {
    const job = await queuedJob(jobs);
    const other = await queuedJob(jobs);
    await database.prisma.job.update({
      where: { id: job.id },
      data: { spec: { epochs: 'many', model: { layers: [] } } },
    });
    const found = await jobs.find(job.id);
    expect(found?.spec).toBeNull();
    expect(found?.specError).toMatch(/epochs: .*; /);
    expect(found?.specError).toContain('model.layers');
    const many = await jobs.findMany([job.id, other.id]);
    expect(many.map((read) => [read.id, read.specError === null])).toEqual([
      [job.id, false],
      [other.id, true],
    ]);
    const claim = await jobs.claim(job.id, 'cpu', 60_000, randomUUID());
    expect(claim).toMatchObject({ outcome: 'claimed', job: { spec: null, specError: found?.specError } });
  });
});
