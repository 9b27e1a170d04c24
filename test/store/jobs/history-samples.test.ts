import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobsRepository, type JobsRepository, type StepRecord } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { runningJob } from './queued-job.js';

describe('history samples repository', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('history_samples');
    jobs = createJobsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  const steps = (count: number): StepRecord[] =>
    Array.from({ length: count }, (_, index) => ({
      step: index + 1,
      epoch: index < count / 2 ? 1 : 2,
      loss: 1 / (index + 3),
    }));

  /** The job's row as last written: what a reader saw before computing a sample. */
  const seen = async (id: string) => (await jobs.find(id))?.updatedAt as Date;

  /** A job that ran `count` steps and ended with `status`. */
  async function endedJob(count: number, status: 'completed' | 'failed' | 'cancelled' = 'completed') {
    const { id, owner } = await runningJob(jobs);
    await jobs.recordSteps(id, steps(count));
    expect(await jobs.finish(id, status, status === 'failed' ? 'boom' : undefined, owner)).toBe(status);
    return { id, owner, seen: await seen(id) };
  }

  const rows = async (id: string) =>
    Number(
      (
        await database.prisma.$queryRaw<
          { n: bigint }[]
        >`SELECT count(*) AS n FROM history_samples WHERE job_id = ${id}::uuid`
      )[0]?.n,
    );

  it('reads back every value exactly as stored: float64 losses to the bit (as step chunks hold them), steps and epochs', async () => {
    const { id, seen: asRead } = await endedJob(10, 'failed');
    const sample = [
      { step: 1, epoch: 1, loss: 0.1 + 0.2 },
      { step: 4, epoch: 1, loss: Number.MAX_VALUE },
      { step: 7, epoch: 2, loss: 1e-310 },
      { step: 10, epoch: 2, loss: Math.fround(2.3) },
    ];
    expect(await jobs.storeSample(id, 4, { steps: sample, totalSteps: 10 }, asRead)).toBe(true);
    const stored = await jobs.storedSample(id, 4);
    expect(stored).toEqual({ steps: sample, totalSteps: 10 });
    expect(await jobs.storedSample(id, 5)).toBeNull();
  });

  it('keeps the first sample stored for a job and points', async () => {
    const { id, seen: asRead } = await endedJob(10);
    const first = [
      { step: 1, epoch: 1, loss: 1 },
      { step: 10, epoch: 2, loss: 2 },
    ];
    expect(await jobs.storeSample(id, 2, { steps: first, totalSteps: 10 }, asRead)).toBe(true);
    expect(
      await jobs.storeSample(id, 2, { steps: first.map((one) => ({ ...one, loss: 5 })), totalSteps: 10 }, asRead),
    ).toBe(false);
    expect((await jobs.storedSample(id, 2))?.steps).toEqual(first);
  });

  it('stores nothing for a job still running, or when its steps are no longer as many as the sample was made of', async () => {
    const running = await runningJob(jobs);
    await jobs.recordSteps(running.id, steps(10));
    const sample = { steps: steps(10).filter((one) => one.step % 5 === 0), totalSteps: 10 };
    expect(await jobs.storeSample(running.id, 2, sample, await seen(running.id))).toBe(false);
    expect(await jobs.storedSample(running.id, 2)).toBeNull();

    const { id, seen: asRead } = await endedJob(10);
    expect(await jobs.storeSample(id, 2, { ...sample, totalSteps: 9 }, asRead)).toBe(false);
    expect(await rows(id)).toBe(0);
  });

  it('removes the samples of a job whose steps are written or cut after they were stored', async () => {
    const { id, seen: asRead } = await endedJob(10, 'cancelled');
    const sample = { steps: steps(10).filter((one) => one.step % 5 === 0), totalSteps: 10 };
    expect(await jobs.storeSample(id, 2, sample, asRead)).toBe(true);
    // A worker that lost its lease and has not noticed yet may still write a batch.
    await jobs.recordSteps(id, [{ step: 10, epoch: 2, loss: 9 }]);
    expect(await jobs.storedSample(id, 2)).toBeNull();
    // Nor is a sample computed before that write stored after it, though the steps are as many.
    expect(await jobs.storeSample(id, 2, sample, asRead)).toBe(false);

    expect(await jobs.storeSample(id, 2, sample, await seen(id))).toBe(true);
    await jobs.rewindTo(id, { step: 5, completedEpochs: 1, progressEpoch: 1 });
    expect(await jobs.storedSample(id, 2)).toBeNull();
  });

  it('removes the samples with their job', async () => {
    const { id, seen: asRead } = await endedJob(10);
    expect(await jobs.storeSample(id, 2, { steps: steps(2), totalSteps: 10 }, asRead)).toBe(true);
    expect(await rows(id)).toBe(1);
    expect(await jobs.deleteEndedJob(id)).toEqual({ outcome: 'deleted' });
    expect(await rows(id)).toBe(0);
  });
});
