import type { PrismaClient } from '../database.js';
import type { Webhook as WebhookRow } from '../generated/client.js';

/** A webhook as the store returns it: never its secret, sealed or not. */
export interface Webhook {
  id: string;
  owner: string;
  url: string;
  events: string[];
  description: string | null;
  failingSince: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  createdAt: Date;
}

export interface NewWebhook {
  id: string;
  owner: string;
  url: string;
  events: readonly string[];
  description: string | null;
  /** The signing secret as `SecretBox.seal` sealed it for this id. */
  secretSealed: string;
}

function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    owner: row.owner,
    url: row.url,
    events: row.events,
    description: row.description,
    failingSince: row.failingSince,
    disabledAt: row.disabledAt,
    disabledReason: row.disabledReason,
    createdAt: row.createdAt,
  };
}

const ownedBy = (owner: string | undefined) => (owner === undefined ? {} : { owner });

/** Webhooks of owners: created, read, deleted. With `owner`, another owner's webhook is as missing. */
export function createWebhooksRepository(prisma: PrismaClient) {
  return {
    async create(webhook: NewWebhook): Promise<Webhook> {
      return toWebhook(await prisma.webhook.create({ data: { ...webhook, events: [...webhook.events] } }));
    },

    async find(id: string, owner?: string): Promise<Webhook | null> {
      const row = await prisma.webhook.findFirst({ where: { id, ...ownedBy(owner) } });
      return row && toWebhook(row);
    },

    /** Newest first; every owner's when `owner` is absent. */
    async list(owner?: string, limit = 1000): Promise<Webhook[]> {
      const rows = await prisma.webhook.findMany({
        where: ownedBy(owner),
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
      });
      return rows.map(toWebhook);
    },

    /** How many webhooks the owner has. */
    count: (owner: string): Promise<number> => prisma.webhook.count({ where: { owner } }),

    /** Deletes the webhook with its deliveries; false when there was none (of `owner`). */
    async delete(id: string, owner?: string): Promise<boolean> {
      const deleted = await prisma.webhook.deleteMany({ where: { id, ...ownedBy(owner) } });
      return deleted.count === 1;
    },
  };
}

export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>;
