import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCheckpointsRepository,
  createJobRecordsRepository,
  type CheckpointsRepository,
  type JobRecordsRepository,
} from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { runningJob } from './queued-job.js';

const checkpoint = (step: number) => ({
  step,
  epoch: Math.floor(step / 10),
  state: { version: 1, layout: [{ name: 'w', shape: [2, 2] }] },
  tensors: new Uint8Array([step, 1, 2, 3]),
});

describe('checkpoints repository', () => {
  let database: TestDatabase;
  let records: JobRecordsRepository;
  let checkpoints: CheckpointsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('checkpoints');
    records = createJobRecordsRepository(database.prisma);
    checkpoints = createCheckpointsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('keeps only the latest checkpoint of a job, and gives it back as saved', async () => {
    const { id } = await runningJob(records);
    expect(await checkpoints.loadCheckpoint(id)).toBeNull();
    await checkpoints.saveCheckpoint(id, checkpoint(10));
    await checkpoints.saveCheckpoint(id, checkpoint(20));
    const loaded = await checkpoints.loadCheckpoint(id);
    expect(loaded).toMatchObject({ step: 20, epoch: 2, state: checkpoint(20).state });
    expect([...(loaded?.tensors ?? [])]).toEqual([20, 1, 2, 3]);
  });

  it('discards the checkpoint of a job once it has ended', async () => {
    const { id, owner } = await runningJob(records);
    await checkpoints.saveCheckpoint(id, checkpoint(5));
    expect(await records.finish(id, 'completed', undefined, owner)).toBe('completed');
    expect(await checkpoints.loadCheckpoint(id)).toBeNull();
  });

  it('refuses a state that is not a JSON object', async () => {
    const { id } = await runningJob(records);
    await expect(checkpoints.saveCheckpoint(id, { ...checkpoint(1), state: [1, 2] })).rejects.toThrow();
    await expect(checkpoints.saveCheckpoint(id, { ...checkpoint(1), state: { at: new Date() } })).rejects.toThrow();
    expect(await checkpoints.loadCheckpoint(id)).toBeNull();
  });
});
