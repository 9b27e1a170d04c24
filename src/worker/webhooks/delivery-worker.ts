import { Worker, type ConnectionOptions } from 'bullmq';
import type { Logger } from '../../logger.js';
import { webhookQueueName, type WebhookDeliveryMessage } from '../../queue/webhook-queue.js';

export interface DeliveryWorkerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Attempts in flight at once: each mostly waits on a receiver, so many fit on one event loop. */
  concurrency: number;
  deliver: (message: WebhookDeliveryMessage) => Promise<void>;
  logger: Logger;
}

/** The BullMQ consumer of webhook attempts. Retries of a delivery are queued by the deliverer, not by BullMQ. */
export function createDeliveryWorker(options: DeliveryWorkerOptions) {
  const { connection, prefix, concurrency, deliver, logger } = options;
  const worker = new Worker<WebhookDeliveryMessage>(webhookQueueName, (message) => deliver(message.data), {
    connection,
    prefix,
    concurrency,
  });
  worker.on('error', (error) => logger.error({ err: error }, 'webhook worker error'));
  worker.on('failed', (message, error) =>
    logger.warn({ deliveryId: message?.data.deliveryId, err: error }, 'webhook attempt message failed'),
  );
  return worker;
}
