import { Queue, type ConnectionOptions } from 'bullmq';

/** Webhook deliveries' own queue, so a slow receiver never holds up training; one message per attempt. */
export const webhookQueueName = 'webhook-deliveries';

export interface WebhookDeliveryMessage {
  deliveryId: string;
  /** The attempt this message is for: the store lets exactly one message make each attempt. */
  attempt: number;
}

export function createWebhookQueue(connection: ConnectionOptions, prefix: string): Queue<WebhookDeliveryMessage> {
  return new Queue<WebhookDeliveryMessage>(webhookQueueName, {
    connection,
    prefix,
    defaultJobOptions: {
      // Postgres keeps every attempt; the queue only carries the next one.
      removeOnComplete: true,
      removeOnFail: 1000,
      // A processor throws only when Postgres cannot be reached; the relay queues lost attempts again.
      attempts: 20,
      backoff: { type: 'exponential', delay: 1000 },
    },
  });
}

/**
 * Queues attempts. The BullMQ id names the delivery and attempt, so queueing one twice (the relay
 * after a crash) is a no-op while the first message waits.
 */
export async function enqueueDeliveries(
  queue: Queue<WebhookDeliveryMessage>,
  attempts: readonly { deliveryId: string; attempt: number; delayMs: number }[],
): Promise<void> {
  if (attempts.length === 0) return;
  await queue.addBulk(
    attempts.map(({ deliveryId, attempt, delayMs }) => ({
      name: 'deliver',
      data: { deliveryId, attempt },
      opts: { jobId: `${deliveryId}.${attempt}`, ...(delayMs > 0 ? { delay: delayMs } : {}) },
    })),
  );
}
