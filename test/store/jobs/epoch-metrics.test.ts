import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEpochMetricsRepository,
  createJobRecordsRepository,
  type EpochMetricsRepository,
  type JobRecordsRepository,
} from '../../../src/store/jobs-repository.js';
import { createEvaluationAccumulator } from '../../../src/training/evaluation.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuedJob } from './queued-job.js';

const metrics = { epoch: 1, testAccuracy: 0.9, testLoss: 0.3, trainLoss: 0.4, durationMs: 100, samplesPerSecond: 1000 };

describe('epoch metrics repository', () => {
  let database: TestDatabase;
  let records: JobRecordsRepository;
  let epochs: EpochMetricsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('epoch_metrics');
    records = createJobRecordsRepository(database.prisma);
    epochs = createEpochMetricsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('stores epoch metrics once per epoch', async () => {
    const job = await queuedJob(records);
    await epochs.recordEpoch(job.id, metrics);
    await epochs.recordEpoch(job.id, { ...metrics, testAccuracy: 0.91 });
    const reread = await records.find(job.id);
    expect(reread?.epochs).toHaveLength(1);
    expect(reread?.epochs[0]?.testAccuracy).toBe(0.91);
  });

  it("keeps the last epoch's accuracy and loss as the job's final ones and the highest as its best", async () => {
    const job = await queuedJob(records);
    await epochs.recordEpoch(job.id, { ...metrics, epoch: 1, testAccuracy: 0.8, testLoss: 0.5 });
    await epochs.recordEpoch(job.id, { ...metrics, epoch: 2, testAccuracy: 0.95, testLoss: 0.2 });
    await epochs.recordEpoch(job.id, { ...metrics, epoch: 3, testAccuracy: 0.9, testLoss: 0.25 });
    const reread = await records.find(job.id);
    expect(reread).toMatchObject({ finalTestAccuracy: 0.9, finalTestLoss: 0.25, bestTestAccuracy: 0.95 });
    expect(reread?.epochs.map((epoch) => epoch.epoch)).toEqual([1, 2, 3]);
  });

  it('keeps each epoch’s evaluation apart from the job’s epochs, and reads it back by epoch or the last', async () => {
    const job = await queuedJob(records);
    const evaluationOf = (correct: number) => {
      const accumulator = createEvaluationAccumulator(3);
      const predictedLabels = [0, 1, 2, 0].map((label, index) => (index < correct ? label : (label + 1) % 3));
      accumulator.add({ firstIndex: 0, trueLabels: [0, 1, 2, 0], predictedLabels, confidences: [0.9, 0.8, 0.7, 0.6] });
      return accumulator.result();
    };
    await epochs.recordEpoch(job.id, { ...metrics, epoch: 1, testAccuracy: 0.5, evaluation: evaluationOf(2) });
    await epochs.recordEpoch(job.id, { ...metrics, epoch: 2, testAccuracy: 0.75, evaluation: evaluationOf(3) });
    expect(await epochs.findEvaluation(job.id, 1)).toEqual({
      epoch: 1,
      testAccuracy: 0.5,
      evaluation: evaluationOf(2),
    });
    expect(await epochs.findEvaluation(job.id)).toEqual({ epoch: 2, testAccuracy: 0.75, evaluation: evaluationOf(3) });
    expect(evaluationOf(3).mistakes).toEqual([{ index: 3, trueLabel: 0, predictedLabel: 1, confidence: 0.6 }]);
    expect(await epochs.perClassAccuracy(job.id)).toEqual(
      new Map([
        [1, [0.5, 1, 0]],
        [2, [0.5, 1, 1]],
      ]),
    );
    expect(await epochs.findEvaluation(job.id, 3)).toBeNull();
    const reread = await records.find(job.id);
    expect(reread?.epochs[0]).not.toHaveProperty('evaluation');
  });

  it('records an epoch without an evaluation, whose evaluation then reads as null', async () => {
    const job = await queuedJob(records);
    await epochs.recordEpoch(job.id, metrics);
    expect(await epochs.findEvaluation(job.id)).toBeNull();
    expect(await epochs.perClassAccuracy(job.id)).toEqual(new Map());
  });
});
