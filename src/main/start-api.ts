import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Queue } from 'bullmq';
import { buildApp } from '../api/app.js';
import { metricsRoute } from '../api/metrics-plugin.js';
import { createApiMetrics, readPublishedMetrics, type ApiMetrics } from '../metrics/api-metrics.js';
import { createProcessRegistry } from '../metrics/registry.js';
import { countJobsByStatus } from '../store/jobs/job-counts.js';
import { createEventHub } from '../api/event-hub.js';
import type { HealthChecks } from '../api/health.js';
import { createJobsService } from '../api/jobs-service.js';
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

/** The API's metrics, read from Postgres, the queue and the metrics workers publish to Redis. */
function apiMetrics(prisma: PrismaClient, redis: Redis, queue: Queue, prefix: string, webSocketClients: () => number) {
  return createApiMetrics(createProcessRegistry({ process: 'api' }), {
    jobsByStatus: () => countJobsByStatus(prisma),
    queueCounts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed'),
    published: () => readPublishedMetrics(redis, prefix),
    webSocketClients,
  });
}

/** GET /metrics alone, on a port of its own. */
async function serveMetrics(metrics: ApiMetrics, logger: Logger, host: string, port: number | undefined) {
  const loggerInstance: FastifyBaseLogger = logger;
  const server = Fastify({ loggerInstance });
  metricsRoute(server, metrics);
  const address = await server.listen({ host, port: port ?? 0 });
  logger.info({ address }, 'metrics listening');
  return server;
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
  const metrics = apiMetrics(prisma, redis, queue, prefix, () => app.websocketServer.clients.size);
  const hub = createEventHub(subscriber, prefix, undefined, (event) => {
    if (event.type === 'steps' && event.committedAt) metrics.eventLag.observe((Date.now() - event.committedAt) / 1000);
  });
  // With METRICS_PORT, GET /metrics is served there only (and can be kept from API clients).
  const ownPort = config.METRICS_PORT !== undefined;
  const app = buildApp({
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    hub,
    jobs,
    health: healthChecks(prisma, redis, prefix),
    metrics: { metrics, route: !ownPort },
  });
  const address = await app.listen({ host: config.HOST, port: config.PORT });
  const metricsServer = ownPort ? await serveMetrics(metrics, logger, config.HOST, config.METRICS_PORT) : undefined;
  return {
    address,
    async close() {
      await metricsServer?.close();
      await app.close();
      await queue.close();
      redis.disconnect();
      subscriber.disconnect();
      await prisma.$disconnect();
    },
  };
}
