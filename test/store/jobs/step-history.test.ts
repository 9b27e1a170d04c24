import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJobRecordsRepository,
  createStepHistoryRepository,
  type JobRecordsRepository,
  type StepHistoryRepository,
} from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuedJob, readAll } from './queued-job.js';

describe('step history repository', () => {
  let database: TestDatabase;
  let records: JobRecordsRepository;
  let history: StepHistoryRepository;
  beforeAll(async () => {
    database = await createTestDatabase('step_history');
    records = createJobRecordsRepository(database.prisma);
    history = createStepHistoryRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('writes steps idempotently: a batch written twice leaves each step once, with its last value', async () => {
    const job = await queuedJob(records);
    const batch = Array.from({ length: 40 }, (_, index) => ({ step: index + 1, epoch: 1, loss: 2 - index / 100 }));
    await history.recordSteps(job.id, batch);
    await history.recordSteps(
      job.id,
      batch.slice(10, 30).map((step) => ({ ...step, loss: 9 })),
    );
    const steps = await readAll(history.historyPages(job.id));
    expect(steps.map((step) => step.step)).toEqual(batch.map((step) => step.step));
    expect(steps[15]?.loss).toBe(9);
    expect(steps[35]?.loss).toBeCloseTo(2 - 35 / 100, 10);
    const reread = await records.find(job.id);
    expect(reread?.step).toBe(40);
    expect(reread?.epoch).toBe(1);
  });

  it('keeps the job at its furthest step when an older batch is written again', async () => {
    const job = await queuedJob(records);
    await history.recordSteps(job.id, [{ step: 30, epoch: 2, loss: 1 }]);
    await history.recordSteps(job.id, [{ step: 10, epoch: 1, loss: 1.5 }]);
    await history.recordSteps(job.id, []);
    expect(await records.find(job.id)).toMatchObject({ step: 30, epoch: 2 });
    expect(await history.historyExtent(job.id)).toEqual({ count: 2, lastStep: 30 });
  });

  it('reads a history in pages of the requested size, within the requested range, and gives its extent', async () => {
    const job = await queuedJob(records);
    expect(await history.historyExtent(job.id)).toEqual({ count: 0, lastStep: 0 });
    expect(await readAll(history.historyPages(job.id))).toEqual([]);
    const steps = Array.from({ length: 25 }, (_, index) => ({
      step: index + 1,
      epoch: index < 12 ? 1 : 2,
      loss: index / 7,
    }));
    await history.recordSteps(job.id, steps);
    expect(await history.historyExtent(job.id)).toEqual({ count: 25, lastStep: 25 });
    const pages: number[][] = [];
    for await (const page of history.historyPages(job.id, { pageSize: 10 })) pages.push(page.map((step) => step.step));
    expect(pages.map((page) => page.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(steps.map((step) => step.step));
    // An exact multiple of the page size ends without an empty page.
    const ranged: number[][] = [];
    for await (const page of history.historyPages(job.id, { after: 3, through: 22, pageSize: 5 }))
      ranged.push(page.map((step) => step.step));
    expect(ranged).toEqual([
      [4, 5, 6, 7, 8],
      [9, 10, 11, 12, 13],
      [14, 15, 16, 17, 18],
      [19, 20, 21, 22],
    ]);
    expect((await readAll(history.historyPages(job.id, { after: 20 })))[0]).toEqual({
      step: 21,
      epoch: 2,
      loss: 20 / 7,
    });
  });
});
