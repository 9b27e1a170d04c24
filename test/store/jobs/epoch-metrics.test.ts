import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEpochMetricsRepository,
  createJobRecordsRepository,
  type EpochMetricsRepository,
  type JobRecordsRepository,
} from '../../../src/store/jobs-repository.js';
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
});
