import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/http/app.js';
import { createEventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import { createSweepsService, type SweepsService } from '../../../src/api/sweeps/sweeps-service.js';
import { localViewer } from '../../../src/domain/access.js';
import { datasets } from '../../../src/domain/datasets.js';
import { specParameterCount, totalSteps } from '../../../src/domain/model-shape.js';
import { createEventPublisher, type PublishEvent } from '../../../src/events/job-events.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createSweepsRepository } from '../../../src/store/sweeps/sweeps-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuePrefix, redisUrl, silentLogger } from '../../helpers/env.js';
import { parsedSmallSpec, smallSpec } from '../../helpers/specs.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';
import { record } from '../../helpers/websocket.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WS /sweeps/:id/events', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let redis: Redis;
  let subscriber: Redis;
  let jobs: JobsRepository;
  let sweeps: SweepsService;
  let publish: PublishEvent;
  let address: string;

  beforeAll(async () => {
    database = await createTestDatabase('sweep_stream');
    const prefix = queuePrefix('sweep_stream');
    redis = createRedis(redisUrl, 'client');
    subscriber = createRedis(redisUrl, 'worker');
    publish = createEventPublisher(redis, prefix, () => undefined);
    jobs = createJobsRepository(database.prisma);
    const service = createJobsService({
      jobs,
      ...idleQueue,
      publish,
      maxParameters: 1e9,
      maxJobMemoryBytes: 1e12,
      logger: silentLogger(),
    });
    sweeps = createSweepsService({
      sweeps: createSweepsRepository(database.prisma),
      jobs: service,
      limits: { maxParameters: 1e9 },
      logger: silentLogger(),
    });
    app = buildApp({
      logger: silentLogger(),
      bodyLimit: 1024 * 1024,
      hub: createEventHub(subscriber, prefix),
      health: healthyChecks,
      jobs: service,
      sweeps,
      // Far beyond the test: whatever arrives was woken by an event.
      sweepFallbackMs: 60_000,
    });
    address = (await app.listen({ host: '127.0.0.1', port: 0 })).replace(/^http/, 'ws');
  });
  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
    subscriber?.disconnect();
    await database?.drop();
  });

  /** Run `index` of the sweep, as the driver launches it: a queued job linked to the sweep. */
  async function launch(sweepId: string, index: number): Promise<string> {
    const id = randomUUID();
    const spec = parsedSmallSpec();
    const mnist = datasets.mnist;
    await jobs.create({
      id,
      spec,
      parameterCount: specParameterCount(spec, mnist),
      totalSteps: totalSteps(spec, mnist),
      sweep: { id: sweepId, index },
    });
    return id;
  }

  it("sends a run's changes when its job events come through Redis, and replays them to a late client", async () => {
    const sweep = await sweeps.create(localViewer, {
      name: 'stream',
      base: smallSpec(),
      method: 'grid',
      parameters: { learningRate: { values: [0.1, 0.2] } },
      objective: { metric: 'testAccuracy', goal: 'maximize' },
    });
    const first = await launch(sweep.id, 0);
    const early = await record(`${address}/sweeps/${sweep.id}/events`);
    const types = () => early.messages.map((message) => message.type);
    // The replay: the run launched before the client connected (and the stream has read Postgres once).
    await expect.poll(types, { timeout: 5000 }).toEqual(['run-started']);

    const run = await launch(sweep.id, 1);
    // Written to Postgres but not announced: the stream does not look, it waits for an event.
    await sleep(1200);
    expect(types()).toEqual(['run-started']);

    publish({ type: 'status', jobId: run, status: 'queued', error: null });
    await expect.poll(types, { timeout: 3000 }).toEqual(['run-started', 'run-started']);

    await jobs.requestCancel(run);
    publish({ type: 'status', jobId: run, status: 'cancelled', error: null });
    await expect.poll(types, { timeout: 3000 }).toEqual(['run-started', 'run-started', 'run-stopped']);
    expect(early.messages.map((message) => message.seq)).toEqual([1, 2, 3]);

    // A client that connects later gets the same story from Postgres, without any event.
    const late = await record(`${address}/sweeps/${sweep.id}/events`);
    await expect
      .poll(() => late.messages.map((message) => [message.type, message.jobId]), { timeout: 3000 })
      .toEqual([
        ['run-started', first],
        ['run-started', run],
        ['run-stopped', run],
      ]);

    // A cancel of the sweep ends both streams, each with sweep-finished then a normal close.
    await sweeps.cancel(localViewer, sweep.id);
    publish({ type: 'status', jobId: run, status: 'cancelled', error: null });
    for (const stream of [early, late]) {
      expect((await stream.closed).code).toBe(1000);
      expect(stream.messages.at(-1)).toMatchObject({ type: 'sweep-finished', status: 'cancelled' });
    }
  });
});
