import type { FastifyInstance } from 'fastify';
import type { AccessControl } from '../../src/api/http/access-control.js';
import { buildApp } from '../../src/api/http/app.js';
import { createEventHub } from '../../src/api/streams/event-hub.js';
import type { HistoryCache } from '../../src/api/history/history-cache.js';
import { warmFinishedHistories } from '../../src/api/history/history-warmer.js';
import { createJobsService } from '../../src/api/jobs/jobs-service.js';
import { createEventPublisher, type PublishEvent } from '../../src/events/job-events.js';
import { createRedis, type Redis } from '../../src/queue/redis.js';
import { createJobsRepository, type JobsRepository } from '../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { queuePrefix, redisUrl, silentLogger } from './env.js';
import { healthyChecks, idleQueue } from './stand-ins.js';

/** An API over its own database with a history cache and the warmer that fills it when a run ends. */
export interface HistoryApi {
  database: TestDatabase;
  repository: JobsRepository;
  app: FastifyInstance;
  /** Publishes job events as a worker does: a run's end reaches the warmer through Redis. */
  publish: PublishEvent;
  /** Removes a job's steps behind the API's back: only what it kept of them still has them. */
  dropSteps: (id: string) => Promise<number>;
  close(): Promise<void>;
}

/** Starts a HistoryApi; `access` builds the app's access control from its database and Redis. */
export async function startHistoryApi(
  label: string,
  historyCache: HistoryCache,
  access?: (context: { database: TestDatabase; redis: Redis; prefix: string }) => AccessControl,
): Promise<HistoryApi> {
  const database = await createTestDatabase(label);
  const prefix = queuePrefix(label.replaceAll('_', '-'));
  const redis = createRedis(redisUrl, 'client');
  const subscriber = createRedis(redisUrl, 'worker');
  const repository = createJobsRepository(database.prisma);
  const jobs = createJobsService({
    jobs: repository,
    ...idleQueue,
    maxParameters: 20_000_000,
    maxJobMemoryBytes: 2 * 1024 ** 3,
    logger: silentLogger(),
    historyCache,
  });
  const hub = createEventHub(subscriber, prefix);
  const stopWarming = await warmFinishedHistories(hub, (jobId) => jobs.warmHistory(jobId), silentLogger());
  const app = buildApp({
    logger: silentLogger(),
    bodyLimit: 1024 * 1024,
    hub,
    health: healthyChecks,
    jobs,
    ...(access && { access: access({ database, redis, prefix }) }),
  });
  await app.ready();
  return {
    database,
    repository,
    app,
    publish: createEventPublisher(redis, prefix, () => undefined),
    dropSteps: (id) => database.prisma.$executeRaw`DELETE FROM step_chunks WHERE job_id = ${id}::uuid`,
    async close() {
      await stopWarming();
      await app.close();
      redis.disconnect();
      subscriber.disconnect();
      await database.drop();
    },
  };
}
