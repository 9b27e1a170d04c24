import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../../src/domain/job-spec.js';
import type { ArtifactStore } from '../../../src/store/artifacts/artifact-store.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { smallSpec } from '../../helpers/specs.js';
import { runningJob } from './queued-job.js';

describe('kept checkpoints repository', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  let artifacts: ArtifactStore;
  beforeAll(async () => {
    database = await createTestDatabase('kept_checkpoints');
    jobs = createJobsRepository(database.prisma);
    artifacts = createPostgresArtifactStore(database.prisma);
  });
  afterAll(() => database.drop());

  /** Keeps epoch `epoch` of `jobId` with `score`, its tensors a small artifact; returns the artifact's id. */
  async function keep(jobId: string, epoch: number, score: number | null, keepLast = 2): Promise<string> {
    const artifact = await artifacts.put([new Uint8Array([epoch, 1, 2, 3])]);
    const state = { version: 1, shuffleState: epoch, epochLossSum: 0, weights: [], optimizer: [] };
    await jobs.keepCheckpoint(
      jobId,
      { epoch, step: epoch * 10, artifactId: artifact.id, bytes: artifact.bytes, state, score },
      keepLast,
    );
    return artifact.id;
  }

  function childOf(parentJobId: string, parentEpoch: number, key?: string) {
    const parsed = parseJobSpec(smallSpec({ epochs: parentEpoch + 1 }), { maxParameters: 1e9 });
    if (!parsed.ok) throw new Error('bad spec');
    const job = { id: randomUUID(), spec: parsed.spec, parameterCount: 1, totalSteps: 64 };
    return jobs.createFork({
      job,
      parentJobId,
      parentEpoch,
      optimizerState: true,
      dataOrder: false,
      ...(key ? { key: { key, bodyHash: 'h' } } : {}),
    });
  }

  it('keeps the last N epochs and the best one, and releases the artifacts of the others', async () => {
    const { id } = await runningJob(jobs);
    const first = await keep(id, 1, 0.9);
    const second = await keep(id, 2, 0.5);
    await keep(id, 3, 0.6);
    await keep(id, 4, 0.7);
    const kept = await jobs.listKeptCheckpoints(id);
    expect(kept.map(({ epoch, step, best }) => ({ epoch, step, best }))).toEqual([
      { epoch: 1, step: 10, best: true },
      { epoch: 3, step: 30, best: false },
      { epoch: 4, step: 40, best: false },
    ]);
    expect(kept[0]?.bytes).toBe(4);
    expect(await artifacts.stat(second)).toBeNull();
    expect(await artifacts.stat(first)).not.toBeNull();
    expect((await jobs.latestKeptCheckpoint(id))?.epoch).toBe(4);
  });

  it('keeps them after the job ends, and removes them with it', async () => {
    const { id, owner } = await runningJob(jobs);
    const artifact = await keep(id, 1, 0.5);
    expect(await jobs.finish(id, 'completed', undefined, owner)).toBe('completed');
    expect((await jobs.listKeptCheckpoints(id)).map((checkpoint) => checkpoint.epoch)).toEqual([1]);
    expect(await jobs.deleteEndedJob(id)).toEqual({ outcome: 'deleted' });
    expect(await artifacts.stat(artifact)).toBeNull();
  });

  it("pins a fork's checkpoint through retention and its parent's deletion, until the child keeps its own", async () => {
    const { id: parentId, owner } = await runningJob(jobs);
    const pinned = await keep(parentId, 1, 0.1, 1);
    const created = await childOf(parentId, 1);
    if (!('job' in created)) throw new Error(`not forked: ${created.outcome}`);
    const child = created.job;
    expect(await jobs.forkStart(child.id)).toEqual({
      parentJobId: parentId,
      parentEpoch: 1,
      parentStep: 10,
      optimizerState: true,
      dataOrder: false,
      checkpoint: { artifactId: pinned, state: expect.objectContaining({ shuffleState: 1 }) as unknown },
    });
    expect(await jobs.forksOf(parentId)).toEqual([{ jobId: child.id, epoch: 1, step: 10 }]);
    expect(await jobs.forksOf(parentId, 'someone-else')).toEqual([]);

    // Retention lets go of epoch 1 (a better, later one comes), then the parent goes altogether.
    await keep(parentId, 2, 0.9, 1);
    expect((await jobs.listKeptCheckpoints(parentId)).map((checkpoint) => checkpoint.epoch)).toEqual([2]);
    await jobs.finish(parentId, 'completed', undefined, owner);
    await jobs.deleteEndedJob(parentId);
    expect(await artifacts.stat(pinned)).not.toBeNull();
    expect((await jobs.forkStart(child.id))?.parentJobId).toBe(parentId);

    const childOwner = randomUUID();
    await jobs.claim(child.id, 'cpu', 60_000, childOwner);
    await keep(child.id, 2, 0.3);
    expect((await jobs.forkStart(child.id))?.checkpoint).toBeNull();
    expect(await artifacts.stat(pinned)).toBeNull();
  });

  it('creates no fork of an epoch that is not kept, and replays nothing under a taken key', async () => {
    const { id } = await runningJob(jobs);
    expect(await childOf(id, 1)).toEqual({ outcome: 'expired' });
    await keep(id, 1, 0.5);
    const first = await childOf(id, 1, 'owner:key-1');
    expect('job' in first).toBe(true);
    expect(await childOf(id, 1, 'owner:key-1')).toEqual({ outcome: 'key-taken' });
    expect(await jobs.forksOf(id)).toHaveLength(1);
  });

  it('releases the pin of a fork that ends before keeping anything', async () => {
    const { id } = await runningJob(jobs);
    const artifact = await keep(id, 1, 0.5, 1);
    const created = await childOf(id, 1);
    if (!('job' in created)) throw new Error('not forked');
    await keep(id, 2, 0.9, 1);
    expect(await artifacts.stat(artifact)).not.toBeNull();
    expect(await jobs.requestCancel(created.job.id)).toBe('cancelled');
    expect(await artifacts.stat(artifact)).toBeNull();
  });
});
