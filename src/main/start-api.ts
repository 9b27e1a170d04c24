import { authMode, isLoopback, type Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { AccessControl } from '../api/access-control.js';
import { buildApp } from '../api/app.js';
import { createEventHub } from '../api/event-hub.js';
import type { HealthChecks } from '../api/health.js';
import { createJobsService } from '../api/jobs-service.js';
import { createKeysService } from '../api/keys-service.js';
import { createSubmissionQuota, type Limits } from '../api/quotas.js';
import { createRateLimiter } from '../api/rate-limiter.js';
import { createApiKeysRepository } from '../store/api-keys.js';
import { createEventPublisher } from '../events/job-events.js';
import { announceCancel } from '../queue/cancel-channel.js';
import { createRedis, type Redis } from '../queue/redis.js';
import { createTrainingQueue, enqueueTraining } from '../queue/training-queue.js';
import { listWorkers } from '../queue/worker-registry.js';
import { createPrismaClient, type PrismaClient } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
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

function limitsOf(config: Config): Limits {
  return {
    requestsPerKeyPerMinute: config.RATE_LIMIT_REQUESTS_PER_MINUTE,
    submissionsPerOwnerPerMinute: config.RATE_LIMIT_SUBMISSIONS_PER_MINUTE,
    activeJobsPerOwner: config.MAX_ACTIVE_JOBS_PER_OWNER,
    failedAuthPerAddressPerMinute: config.MAX_FAILED_AUTH_PER_MINUTE,
  };
}

/** AUTH as configured, saying so loudly when anyone who reaches the port may use the server. */
function accessControl(config: Config, logger: Logger, prisma: PrismaClient, redis: Redis): AccessControl {
  if (authMode(config) === 'off') {
    if (!isLoopback(config.HOST)) {
      logger.warn(
        { host: config.HOST },
        'AUTH=off on a non-loopback address: anyone who can reach this port can submit, cancel and read every job',
      );
    }
    return { mode: 'off' };
  }
  return {
    mode: 'required',
    keys: createApiKeysRepository(prisma),
    ...(config.ADMIN_API_KEY === undefined ? {} : { adminKey: config.ADMIN_API_KEY }),
    limiter: createRateLimiter(redis, config.QUEUE_PREFIX),
    limits: limitsOf(config),
    logger,
  };
}

/** Composes and starts the HTTP API. Resolves once it listens; `address` says where. */
export async function startApi(config: Config, logger: Logger): Promise<Service & { address: string }> {
  const applied = await migrate(config.DATABASE_URL);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  const { prisma, redis, subscriber, queue } = connect(config, logger);
  const prefix = config.QUEUE_PREFIX;
  const access = accessControl(config, logger, prisma, redis);
  const jobsRepository = createJobsRepository(prisma);
  // Quotas bind owners; with AUTH=off there is one owner, the local user, and no quotas.
  const admit =
    access.mode === 'required'
      ? createSubmissionQuota({
          limiter: access.limiter,
          countActive: (owner) => jobsRepository.countActive(owner),
          limits: access.limits,
          logger,
        })
      : undefined;
  const jobs = createJobsService({
    jobs: jobsRepository,
    ...(admit ? { admit } : {}),
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
  const app = buildApp({
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    hub: createEventHub(subscriber, prefix),
    jobs,
    health: healthChecks(prisma, redis, prefix),
    access,
    keys: createKeysService(createApiKeysRepository(prisma)),
    corsOrigins: config.CORS_ORIGINS,
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
