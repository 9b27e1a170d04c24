import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJobRecordsRepository,
  createStepHistoryRepository,
  type JobRecordsRepository,
  type StepHistoryRepository,
  type StepRecord,
} from '../../../src/store/jobs-repository.js';
import { runSteps } from '../../../src/domain/metrics.js';
import { chunkSteps, maxChunkSteps, maxWideChunkSteps } from '../../../src/store/jobs/step-chunks.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuedJob, readAll, runningJob } from './queued-job.js';

/** Steps `from` .. `to` with float32 losses, as training produces them, `perEpoch` steps an epoch. */
const float32Steps = (from: number, to: number, perEpoch = 1000, salt = 0): StepRecord[] =>
  Array.from({ length: to - from + 1 }, (_, index) => {
    const step = from + index;
    return {
      step,
      epoch: Math.ceil(step / perEpoch),
      loss: Math.fround(2 / (1 + step / 300) + salt + Math.sin(step) / 50),
    };
  });

describe('chunking steps', () => {
  it('cuts at gaps, at epoch changes and when full: 480 float32 losses or 240 float64 ones', () => {
    const steps = [...float32Steps(1, 1000, 600), ...float32Steps(1005, 1010, 600)];
    const chunks = chunkSteps(steps);
    expect(chunks.map((chunk) => [chunk.firstStep, chunk.losses.length, chunk.epoch, chunk.narrow])).toEqual([
      [1, 480, 1, true],
      [481, 120, 1, true],
      [601, 400, 2, true],
      [1005, 6, 2, true],
    ]);
    const wide = chunkSteps(
      Array.from({ length: 500 }, (_, index) => ({ step: index + 1, epoch: 1, loss: index / 7 })),
    );
    expect(wide.map((chunk) => [chunk.firstStep, chunk.losses.length, chunk.narrow])).toEqual([
      [1, maxWideChunkSteps, false],
      [241, maxWideChunkSteps, false],
      [481, 20, false],
    ]);
    expect(wide.flatMap((chunk) => chunk.losses)).toEqual(Array.from({ length: 500 }, (_, index) => index / 7));
    expect(maxChunkSteps).toBe(2 * maxWideChunkSteps);
  });
});

describe('chunked step storage', () => {
  let database: TestDatabase;
  let records: JobRecordsRepository;
  let history: StepHistoryRepository;
  const chunkRows = async (jobId: string) =>
    database.prisma.stepChunk.findMany({
      where: { jobId },
      orderBy: { firstStep: 'asc' },
      select: { firstStep: true, stepCount: true, epoch: true },
    });
  beforeAll(async () => {
    database = await createTestDatabase('step_chunks');
    records = createJobRecordsRepository(database.prisma);
    history = createStepHistoryRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('fills chunks from small batches, keeping every value exactly as written', async () => {
    const job = await queuedJob(records);
    const steps = float32Steps(1, 1200, 700);
    for (let first = 0; first < steps.length; first += 7)
      await history.recordSteps(job.id, steps.slice(first, first + 7));
    expect(await chunkRows(job.id)).toEqual([
      { firstStep: 1, stepCount: 480, epoch: 1 },
      { firstStep: 481, stepCount: 220, epoch: 1 },
      { firstStep: 701, stepCount: 480, epoch: 2 },
      { firstStep: 1181, stepCount: 20, epoch: 2 },
    ]);
    expect(await readAll(history.historyPages(job.id, { pageSize: 333 }))).toEqual(steps);
    // A float64 loss turns its chunk to float64; the others keep theirs.
    const odd = { step: 500, epoch: 1, loss: 0.1 };
    await history.recordSteps(job.id, [odd]);
    const reread = await readAll(history.historyPages(job.id));
    expect(reread).toEqual(steps.map((step) => (step.step === 500 ? odd : step)));
    expect(await history.historyExtent(job.id)).toEqual({ count: 1200, lastStep: 1200 });
  });

  it('reads a history as runs of one epoch, every value exact, each step once within the range asked', async () => {
    const job = await queuedJob(records);
    // Float32 chunks, a float64 one (extreme values included) and a gap.
    const wide = [-2.5e-8, 1e-310, -Number.MAX_VALUE, 0.1, Math.PI].map((loss, index) => ({
      step: 1001 + index,
      epoch: 2,
      loss,
    }));
    const steps = [...float32Steps(1, 1000, 700), ...wide, ...float32Steps(1100, 1300, 700)];
    await history.recordSteps(job.id, steps);
    const runs = await readAll(history.historyRuns(job.id, { after: 3, through: 1200, pageSize: 400 }));
    expect(runs.flatMap(runSteps)).toEqual(steps.filter((step) => step.step > 3 && step.step <= 1200));
    expect(runs.every((run) => run.losses instanceof Float64Array && run.losses.length > 0)).toBe(true);
    const epochs = runs.map((run) => run.epoch);
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(await readAll(history.historyRuns(job.id, { after: 1300 }))).toEqual([]);
  });

  it('rewinds into the middle of a chunk, so the resumed attempt writes each later step exactly once', async () => {
    const { id } = await runningJob(records);
    await history.recordSteps(id, float32Steps(1, 1000, 400));
    await records.rewindTo(id, { step: 650, completedEpochs: 1, progressEpoch: 2 });
    expect(await history.historyExtent(id)).toEqual({ count: 650, lastStep: 650 });
    const resumed = float32Steps(651, 1000, 400, 1);
    for (let first = 0; first < resumed.length; first += 50)
      await history.recordSteps(id, resumed.slice(first, first + 50));
    expect(await readAll(history.historyPages(id))).toEqual([...float32Steps(1, 650, 400), ...resumed]);
    expect(await database.prisma.stepLoss.count({ where: { jobId: id } })).toBe(1000);
  });

  it('keeps each step once when two writers write overlapping batches of one job at the same time', async () => {
    const job = await queuedJob(records);
    const writes = Array.from({ length: 12 }, (_, index) =>
      history.recordSteps(job.id, float32Steps(1 + index * 40, 100 + index * 40, 1000, index)),
    );
    await Promise.all(writes);
    const steps = await readAll(history.historyPages(job.id));
    expect(steps.map((step) => step.step)).toEqual(Array.from({ length: 540 }, (_, index) => index + 1));
    const rows = await chunkRows(job.id);
    for (const [index, row] of rows.entries()) {
      const next = rows[index + 1];
      if (next) expect(row.firstStep + row.stepCount).toBeLessThanOrEqual(next.firstStep);
    }
  });
});
