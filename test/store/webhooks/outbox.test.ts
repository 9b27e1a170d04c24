import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseSweepSpec } from '../../../src/domain/sweeps/parse-sweep.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createModelsRepository } from '../../../src/store/models-repository.js';
import { createSweepsRepository } from '../../../src/store/sweeps/sweeps-repository.js';
import { createDeliveriesRepository } from '../../../src/store/webhooks/deliveries-repository.js';
import { createWebhooksRepository } from '../../../src/store/webhooks/webhooks-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { smallSpec } from '../../helpers/specs.js';
import { queuedJob, runningJob } from '../jobs/queued-job.js';

// The outbox is written by triggers in the transaction of each status change: these say which
// changes write which events, for whom, and that a change rolled back leaves none.
describe('webhook outbox', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  beforeAll(async () => {
    database = await createTestDatabase('webhook_outbox');
    jobs = createJobsRepository(database.prisma);
  });
  afterAll(() => database.drop());

  const subscribe = (events: string[], owner = 'local') =>
    createWebhooksRepository(database.prisma).create({
      id: randomUUID(),
      owner,
      url: 'https://example.com/hook',
      events,
      description: null,
      secretSealed: 'v1.sealed',
    });

  const eventsOf = async (subjectId: string) =>
    (
      await database.prisma.webhookEvent.findMany({
        where: { subjectId },
        orderBy: { createdAt: 'asc' },
      })
    ).map((event) => `${event.owner} ${event.type}`);

  beforeEach(async () => {
    await database.prisma.webhook.deleteMany();
  });

  it('writes job.started once, on the first claim, and job.completed when the job ends', async () => {
    await subscribe(['*']);
    const { id, owner } = await runningJob(jobs);
    await jobs.handBack(id, owner);
    const again = randomUUID();
    expect((await jobs.claim(id, 'cpu', 60_000, again)).outcome).toBe('claimed');
    expect(await jobs.finish(id, 'completed', undefined, again)).toBe('completed');
    expect(await eventsOf(id)).toEqual(['local job.started', 'local job.completed']);
  });

  it('writes job.failed and job.cancelled, also for a queued job cancelled by the API', async () => {
    await subscribe(['job.failed', 'job.cancelled']);
    const failed = await runningJob(jobs);
    await jobs.finish(failed.id, 'failed', 'out of memory', failed.owner);
    const queued = await queuedJob(jobs);
    expect(await jobs.requestCancel(queued.id)).toBe('cancelled');
    expect(await eventsOf(failed.id)).toEqual(['local job.failed']);
    expect(await eventsOf(queued.id)).toEqual(['local job.cancelled']);
  });

  it('writes nothing that no enabled webhook of the owner subscribes to', async () => {
    await subscribe(['job.failed']);
    await subscribe(['*'], 'someone-else');
    const disabled = await subscribe(['*']);
    await database.prisma.webhook.update({ where: { id: disabled.id }, data: { disabledAt: new Date() } });
    const { id, owner } = await runningJob(jobs);
    await jobs.finish(id, 'completed', undefined, owner);
    expect(await eventsOf(id)).toEqual([]);
  });

  it('writes no event for a status change that is rolled back', async () => {
    await subscribe(['*']);
    const { id, owner } = await runningJob(jobs);
    await expect(
      database.prisma.$transaction(async (tx) => {
        await tx.$executeRaw`UPDATE jobs SET status = 'completed' WHERE id = ${id}::uuid`;
        throw new Error('crash before commit');
      }),
    ).rejects.toThrow('crash before commit');
    expect(await eventsOf(id)).toEqual(['local job.started']);
    await jobs.finish(id, 'completed', undefined, owner);
    expect(await eventsOf(id)).toEqual(['local job.started', 'local job.completed']);
  });

  it('writes sweep.completed and sweep.cancelled for the sweep, as its owner', async () => {
    await subscribe(['sweep.completed', 'sweep.cancelled'], 'alice');
    const parsed = parseSweepSpec(
      {
        name: 'outbox',
        base: smallSpec(),
        method: 'grid',
        parameters: { learningRate: { values: [0.1] } },
        objective: { metric: 'testAccuracy', goal: 'maximize' },
      },
      { maxParameters: 1e9 },
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const sweeps = createSweepsRepository(database.prisma);
    const completed = await sweeps.create({ id: randomUUID(), spec: parsed.sweep, runCount: 1, owner: 'alice' });
    const cancelled = await sweeps.create({ id: randomUUID(), spec: parsed.sweep, runCount: 1, owner: 'alice' });
    expect(await sweeps.end(completed.id, 'completed')).toBe(true);
    expect(await sweeps.end(cancelled.id, 'cancelled')).toBe(true);
    expect(await sweeps.end(cancelled.id, 'cancelled')).toBe(false);
    expect(await eventsOf(completed.id)).toEqual(['alice sweep.completed']);
    expect(await eventsOf(cancelled.id)).toEqual(['alice sweep.cancelled']);
  });

  it('writes model.best each time the best model is stored, and nothing for the final one', async () => {
    await subscribe(['model.best']);
    const job = await queuedJob(jobs);
    const artifacts = createPostgresArtifactStore(database.prisma);
    const models = createModelsRepository(database.prisma);
    const save = async (version: 'best' | 'final', epoch: number) => {
      const modelJson = await artifacts.put([Buffer.from('{}')]);
      const weights = await artifacts.put([randomBytes(8)]);
      await models.save({
        jobId: job.id,
        version,
        epoch,
        modelJsonArtifactId: modelJson.id,
        weightsArtifactId: weights.id,
        tfjsVersion: '4.22.0',
        inputShape: [28, 28],
        preprocessing: { scale: 1, mean: 0, std: 1 },
        classCount: 10,
        classNames: null,
        testAccuracy: 0.5,
      });
    };
    await save('best', 1);
    await save('best', 2);
    await save('final', 2);
    expect(await eventsOf(job.id)).toEqual(['local model.best', 'local model.best']);
  });

  it('prunes events relayed long ago with their deliveries, but never one with a pending delivery', async () => {
    const webhook = await subscribe(['*']);
    const longAgo = new Date(Date.now() - 40 * 24 * 3_600_000);
    const eventWith = async (status: 'succeeded' | 'pending', relayedAt: Date) => {
      const event = await database.prisma.webhookEvent.create({
        data: { type: 'job.completed', owner: 'local', subjectId: randomUUID(), relayedAt },
      });
      await database.prisma.webhookDelivery.create({
        data: {
          id: randomUUID(),
          webhookId: webhook.id,
          eventId: event.id,
          eventType: event.type,
          body: '{}',
          status,
          retryUntil: new Date(),
          attemptLog: { create: [{ attempt: 1, statusCode: 200, durationMs: 3 }] },
        },
      });
      return event.id;
    };
    const old = await eventWith('succeeded', longAgo);
    const stillPending = await eventWith('pending', longAgo);
    const recent = await eventWith('succeeded', new Date());
    const deliveries = createDeliveriesRepository(database.prisma);
    expect(await deliveries.prune(30 * 24 * 3_600_000, 100)).toBe(1);
    const left = await database.prisma.webhookEvent.findMany({ where: { id: { in: [old, stillPending, recent] } } });
    expect(left.map((event) => event.id).sort()).toEqual([stillPending, recent].sort());
    expect(await database.prisma.webhookDelivery.count({ where: { eventId: old } })).toBe(0);
    expect(await database.prisma.webhookDeliveryAttempt.count({ where: { delivery: { eventId: old } } })).toBe(0);
  });
});
