import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventHub } from '../../../src/api/streams/event-hub.js';
import { createJobStream, type StreamMessage } from '../../../src/api/streams/job-stream.js';
import { createJobsService, type JobsService } from '../../../src/api/jobs/jobs-service.js';
import { parseJobSpec } from '../../../src/domain/job-spec.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuePrefix, redisUrl, silentLogger } from '../../helpers/env.js';
import { smallSpec } from '../../helpers/specs.js';
import { idleQueue } from '../../helpers/stand-ins.js';

const metrics = (epoch: number) => ({
  epoch,
  testAccuracy: 0.5,
  testLoss: 1,
  trainLoss: 1,
  durationMs: 10,
  samplesPerSecond: 100,
});
const steps = (from: number, to: number, epoch: number) =>
  Array.from({ length: to - from + 1 }, (_, index) => ({ step: from + index, epoch, loss: 1 / (from + index) }));

describe('replaying a job that moves on while it is read', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  let subscriber: Redis;

  beforeAll(async () => {
    database = await createTestDatabase('job_stream');
    jobs = createJobsRepository(database.prisma);
    subscriber = createRedis(redisUrl, 'worker');
  });
  afterAll(async () => {
    subscriber?.disconnect();
    await database?.drop();
  });

  it('never sends an epoch before its last step, even when the job row read later lists it', async () => {
    const parsed = parseJobSpec(smallSpec(), { maxParameters: 1e9 });
    if (!parsed.ok) throw new Error('bad spec');
    const id = randomUUID();
    await jobs.create({ id, spec: parsed.spec, parameterCount: 1, totalSteps: 64 });
    await jobs.claim(id, 'cpu', 60_000, randomUUID());
    await jobs.recordSteps(id, steps(1, 3, 1));

    // The worker keeps going between the stream's reads: after the job row is first read it finishes
    // epoch 1 and starts epoch 2; by the time the row is read again, epoch 2 is over too.
    const service = createJobsService({
      jobs,
      ...idleQueue,
      maxParameters: 1e9,
      maxJobMemoryBytes: 1e12,
      logger: silentLogger(),
    });
    let pagesCalls = 0;
    let finds = 0;
    const racingJobs: Pick<JobsService, 'find' | 'stepsAfter' | 'perClassAccuracy'> = {
      perClassAccuracy: (jobId) => service.perClassAccuracy(jobId),
      async find(jobId) {
        finds += 1;
        if (finds === 2) {
          await jobs.recordSteps(id, steps(5, 6, 2));
          await jobs.recordEpoch(id, metrics(2));
        }
        return service.find(jobId);
      },
      async *stepsAfter(jobId, after) {
        pagesCalls += 1;
        if (pagesCalls === 1) {
          await jobs.recordEpoch(id, metrics(1));
          await jobs.recordSteps(id, steps(4, 4, 2));
        }
        yield* service.stepsAfter(jobId, after);
      },
    };

    const sent: StreamMessage[] = [];
    const stream = createJobStream({
      jobId: id,
      since: 0,
      jobs: racingJobs,
      hub: createEventHub(subscriber, queuePrefix('stream')),
      send: (message) => sent.push(message),
      finish: () => undefined,
    });
    await stream.start();
    await stream.stop();

    const order = sent.map((message) =>
      message.type === 'steps'
        ? `steps ${message.steps.map((step) => step.step).join(',')}`
        : message.type === 'epoch'
          ? `epoch ${message.epoch}`
          : `status ${message.status}`,
    );
    // Epoch 2's last steps (5, 6) came after the history was read: its metrics must wait for them live.
    expect(order).toEqual(['steps 1,2,3', 'epoch 1', 'steps 4', 'status running']);
    expect(finds).toBe(2);
  });
});
