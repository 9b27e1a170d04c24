import { randomBytes, randomUUID } from 'node:crypto';
import { visibleOwner, type Viewer } from '../../domain/access.js';
import { QuotaExceeded, WebhookDeliveryNotFound, WebhookNotFound, WebhooksNotConfigured } from '../../domain/errors.js';
import type { Resolve } from '../../domain/network-addresses.js';
import type { Logger } from '../../logger.js';
import type { Delivery, DeliveriesRepository, QueuedAttempt } from '../../store/webhooks/deliveries-repository.js';
import type { SecretBox } from '../../store/webhooks/secret-box.js';
import type { Webhook, WebhooksRepository } from '../../store/webhooks/webhooks-repository.js';
import { guardStore } from '../http/store-guard.js';
import type { DeliveryView, NewWebhookBody, WebhookView } from './schemas.js';
import { checkWebhookUrl } from './webhook-url.js';

export interface WebhooksServiceDeps {
  webhooks: WebhooksRepository;
  deliveries: Pick<DeliveriesRepository, 'list' | 'redeliver'>;
  /** Seals new secrets; without one (no WEBHOOK_SECRET_KEY) webhooks cannot be created. */
  secrets?: SecretBox;
  /** Queues a redelivery's attempt. */
  enqueue: (attempts: readonly QueuedAttempt[]) => Promise<void>;
  allowPrivateNetworks: boolean;
  resolve: Resolve;
  /** How long a redelivery is retried for. */
  retryForMs: number;
  /** Webhooks one owner may have (each event is sent to each): WEBHOOK_MAX_PER_OWNER. */
  maxPerOwner?: number;
  logger: Logger;
}

function webhookView(webhook: Webhook): WebhookView {
  return {
    id: webhook.id,
    owner: webhook.owner,
    url: webhook.url,
    // Written only from the request schema's enum, so read back as one.
    events: webhook.events as WebhookView['events'],
    description: webhook.description,
    enabled: webhook.disabledAt === null,
    disabledAt: webhook.disabledAt?.toISOString() ?? null,
    disabledReason: webhook.disabledReason,
    failingSince: webhook.failingSince?.toISOString() ?? null,
    createdAt: webhook.createdAt.toISOString(),
    links: { self: `/webhooks/${webhook.id}`, deliveries: `/webhooks/${webhook.id}/deliveries` },
  };
}

function deliveryView(delivery: Delivery): DeliveryView {
  return {
    id: delivery.id,
    eventId: delivery.eventId,
    eventType: delivery.eventType,
    status: delivery.status,
    attempts: delivery.attempts,
    nextAttemptAt: delivery.status === 'pending' ? (delivery.nextAttemptAt?.toISOString() ?? null) : null,
    retryUntil: delivery.retryUntil.toISOString(),
    createdAt: delivery.createdAt.toISOString(),
    attemptLog: delivery.attemptLog.map((attempt) => ({
      attempt: attempt.attempt,
      statusCode: attempt.statusCode,
      durationMs: attempt.durationMs,
      error: attempt.error,
      response: attempt.responseExcerpt,
      createdAt: attempt.createdAt.toISOString(),
    })),
  };
}

/** A signing secret: 32 random bytes, with a prefix that says what it is when found lying about. */
const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * Webhooks of owners, as the API manages them. Every operation takes the viewer it acts for: a
 * member sees its own owner's webhooks, an admin everyone's; another owner's is WebhookNotFound.
 */
export function createWebhooksService(deps: WebhooksServiceDeps) {
  const webhooks = guardStore(deps.webhooks);
  const deliveries = guardStore(deps.deliveries);

  async function find(viewer: Viewer, id: string): Promise<Webhook> {
    const webhook = await webhooks.find(id.toLowerCase(), visibleOwner(viewer));
    if (!webhook) throw new WebhookNotFound(id);
    return webhook;
  }

  return {
    /** Stores a webhook of the viewer's owner; the answer holds its secret, which is never shown again. */
    async create(viewer: Viewer, body: NewWebhookBody): Promise<WebhookView & { secret: string }> {
      if (!deps.secrets) throw new WebhooksNotConfigured();
      await checkWebhookUrl(body.url, deps);
      const max = deps.maxPerOwner ?? 20;
      const existing = await webhooks.count(viewer.owner);
      if (existing >= max) throw new QuotaExceeded('webhooks of this owner', existing, max);
      const id = randomUUID();
      const secret = newSecret();
      const webhook = await webhooks.create({
        id,
        owner: viewer.owner,
        url: body.url,
        events: body.events,
        description: body.description ?? null,
        secretSealed: deps.secrets.seal(secret, id),
      });
      deps.logger.info({ webhookId: id, owner: webhook.owner, events: webhook.events }, 'webhook created');
      return { ...webhookView(webhook), secret };
    },

    async list(viewer: Viewer): Promise<WebhookView[]> {
      return (await webhooks.list(visibleOwner(viewer))).map(webhookView);
    },

    get: async (viewer: Viewer, id: string) => webhookView(await find(viewer, id)),

    async remove(viewer: Viewer, id: string): Promise<void> {
      if (!(await webhooks.delete(id.toLowerCase(), visibleOwner(viewer)))) throw new WebhookNotFound(id);
      deps.logger.info({ webhookId: id }, 'webhook deleted');
    },

    async deliveries(viewer: Viewer, id: string, limit: number): Promise<DeliveryView[]> {
      const webhook = await find(viewer, id);
      return (await deliveries.list(webhook.id, limit)).map(deliveryView);
    },

    /** Sends a delivery again (same event id and body), and enables its webhook if it was disabled. */
    async redeliver(viewer: Viewer, id: string, deliveryId: string): Promise<void> {
      const webhook = await find(viewer, id);
      const queued = await deliveries.redeliver(webhook.id, deliveryId.toLowerCase(), deps.retryForMs);
      if (!queued) throw new WebhookDeliveryNotFound(deliveryId);
      // Committed first: should queueing fail, the relay queues the pending delivery itself.
      await deps
        .enqueue([queued])
        .catch((error: unknown) =>
          deps.logger.warn({ err: error, deliveryId }, 'could not queue a redelivery; the relay will'),
        );
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
