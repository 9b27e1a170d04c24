import { createEventData } from '../api/webhooks/event-data.js';
import type { DatasetResolver } from '../api/jobs/submit-job.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Redis } from '../queue/redis.js';
import { createWebhookQueue, enqueueDeliveries } from '../queue/webhook-queue.js';
import type { PrismaClient } from '../store/database.js';
import { createJobRecordsRepository } from '../store/jobs-repository.js';
import { createSweepsRepository } from '../store/sweeps/sweeps-repository.js';
import { createDeliveriesRepository } from '../store/webhooks/deliveries-repository.js';
import { createSecretBox, type SecretBox } from '../store/webhooks/secret-box.js';
import { createDeliverer } from '../worker/webhooks/deliverer.js';
import { createDeliveryWorker } from '../worker/webhooks/delivery-worker.js';
import { startRelay } from '../worker/webhooks/relay.js';
import { postJson } from '../worker/webhooks/safe-post.js';
import type { Service } from './process.js';

/** The secret box of WEBHOOK_SECRET_KEY, or undefined when webhooks are off. */
export function webhookSecrets(config: Config): SecretBox | undefined {
  return config.WEBHOOK_SECRET_KEY === undefined ? undefined : createSecretBox(config.WEBHOOK_SECRET_KEY);
}

function createDelivery(config: Config, logger: Logger, secrets: SecretBox, deps: WebhookDeliveryDeps) {
  const queue = createWebhookQueue(deps.client, config.QUEUE_PREFIX);
  queue.on('error', (error) => logger.debug({ err: error }, 'webhook queue connection error'));
  const enqueue = (attempts: Parameters<typeof enqueueDeliveries>[1]) => enqueueDeliveries(queue, attempts);
  const deliveries = createDeliveriesRepository(deps.prisma);
  const deliver = createDeliverer({
    deliveries,
    secrets,
    post: (url, body, headers) =>
      postJson(url, body, headers, {
        allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
        timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        maxResponseBytes: config.WEBHOOK_MAX_RESPONSE_BYTES,
      }),
    enqueue,
    retry: { baseMs: config.WEBHOOK_RETRY_BASE_MS, maxMs: config.WEBHOOK_RETRY_MAX_DELAY_MS },
    disableAfterMs: config.WEBHOOK_DISABLE_AFTER_MS,
    // Past the timeout with room to record the attempt: only then may the relay queue it again.
    leaseMs: config.WEBHOOK_TIMEOUT_MS * 2,
    logger,
  });
  return { queue, enqueue, deliveries, deliver };
}

export interface WebhookDeliveryDeps {
  prisma: PrismaClient;
  /** For the queue's commands: a connection that waits through a Redis outage. */
  client: Redis;
  /** The BullMQ consumer's blocking connection. */
  consumer: Redis;
  findDataset: DatasetResolver;
}

/**
 * The worker's part of webhooks: the relay from the outbox to the delivery queue, and the consumer
 * that makes each attempt. Nothing runs without WEBHOOK_SECRET_KEY (no webhook can exist then).
 */
export function startWebhookDelivery(config: Config, logger: Logger, deps: WebhookDeliveryDeps): Service {
  const secrets = webhookSecrets(config);
  if (!secrets) {
    logger.info('webhooks are off: WEBHOOK_SECRET_KEY is not set');
    return { close: () => Promise.resolve() };
  }
  const { queue, enqueue, deliveries, deliver } = createDelivery(config, logger, secrets, deps);
  const relay = startRelay(
    {
      deliveries,
      describe: createEventData({
        jobs: createJobRecordsRepository(deps.prisma),
        sweeps: createSweepsRepository(deps.prisma),
        findDataset: deps.findDataset,
      }),
      enqueue,
      retryForMs: config.WEBHOOK_RETRY_FOR_MS,
      requeueAfterMs: config.WEBHOOK_REQUEUE_AFTER_MS,
      keepHistoryMs: config.WEBHOOK_HISTORY_DAYS * 24 * 3_600_000,
    },
    config.WEBHOOK_RELAY_INTERVAL_MS,
    logger,
  );
  const worker = createDeliveryWorker({
    connection: deps.consumer,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WEBHOOK_CONCURRENCY,
    deliver,
    logger,
  });
  return {
    async close() {
      await relay.stop();
      await worker.close();
      await queue.close();
    },
  };
}
