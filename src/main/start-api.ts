import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { buildApp } from '../api/app.js';
import { createEventHub } from '../api/event-hub.js';
import type { HealthChecks } from '../api/health.js';
import { createJobsService } from '../api/jobs-service.js';
import { createSweepsService } from '../api/sweeps-service.js';
import { createEventPublisher } from '../events/job-events.js';
import { announceCancel } from '../queue/cancel-channel.js';
import { createRedis, type Redis } from '../queue/redis.js';
import { createTrainingQueue, enqueueTraining } from '../queue/training-queue.js';
import { listWorkers } from '../queue/worker-registry.js';
import { createPrismaClient, type PrismaClient } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import { createSweepsRepository } from '../store/sweeps/sweeps-repository.js';
import type { Service } from './process.js';

/** The API's connections: Postgres, Redis for commands, Redis for subscriptions, and the queue. */
function connect(config: Config, logger: Logger) {
  const prisma = createPrismaClient(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL, 'client');
  // Subscribers must ride out Redis restarts, so this one queues commands while offline.
  const subscriber = createRedis(config.REDIS_URL, 'worker');
  for (const connection of [redis, subscriber])
    connection.on('error', (error) => logger.debug({ err: error }, 'redis connection error'));
  const queue = createTrainingQueue(redis, config.QUEUE_PREFIX);
  queue.on('error', (error) => logger.debug({ err: error }, 'queue connection error'));
  return { prisma, redis, subscriber, queue };
}

function healthChecks(prisma: PrismaClient, redis: Redis, prefix: string): HealthChecks {
  return {
    database: async () => {
      await prisma.$queryRaw`SELECT 1`;
    },
    redis: async () => {
      await redis.ping();
    },
    workers: () => listWorkers(redis, prefix),
  };
}

/** Composes and starts the HTTP API. Resolves once it listens; `address` says where. */
export async function startApi(config: Config, logger: Logger): Promise<Service & { address: string }> {
  const applied = await migrate(config.DATABASE_URL);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const { prisma, redis, subscriber, queue } = connect(config, logger);
  const prefix = config.QUEUE_PREFIX;
  const jobs = createJobsService({
    jobs: createJobsRepository(prisma),
    enqueue: (jobId) => enqueueTraining(queue, jobId),
    dequeue: async (jobId) => {
      await queue.remove(jobId);
    },
    announceCancel: (jobId) => announceCancel(redis, prefix, jobId),
    publish: createEventPublisher(redis, prefix, (error) =>
      logger.debug({ err: error }, 'could not publish a job event'),
    ),
    maxParameters: config.MAX_PARAMETERS,
    maxJobMemoryBytes: config.MAX_JOB_MEMORY_BYTES,
    logger,
  });
  const sweeps = createSweepsService({
    sweeps: createSweepsRepository(prisma),
    jobs,
    limits: { maxParameters: config.MAX_PARAMETERS, maxJobMemoryBytes: config.MAX_JOB_MEMORY_BYTES },
    logger,
  });
  const app = buildApp({
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    hub: createEventHub(subscriber, prefix),
    jobs,
    sweeps,
    health: healthChecks(prisma, redis, prefix),
  });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  return {
    address,
    async close() {
      await app.close();
      await queue.close();
      redis.disconnect();
      subscriber.disconnect();
      await prisma.$disconnect();
    },
  };
}
