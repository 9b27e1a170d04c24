import { z } from 'zod';
import {
  deliveryStatuses,
  webhookEventTypes,
  type DeliveryStatus,
  type WebhookEventType,
} from '../../domain/webhooks.js';
import type { PrismaClient } from '../database.js';

/** An event waiting in the outbox. */
export interface OutboxEvent {
  id: string;
  type: WebhookEventType;
  owner: string;
  subjectId: string;
  createdAt: Date;
}

/** One attempt of a delivery: the receiver's status (null when none came) and how long it took. */
export interface DeliveryAttempt {
  attempt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  createdAt: Date;
}

export interface Delivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  retryUntil: Date;
  createdAt: Date;
  attemptLog: DeliveryAttempt[];
}

/** What an attempt needs: the body, where it goes and the sealed secret to sign it with. */
export interface ClaimedDelivery {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  body: string;
  retryUntil: Date;
  url: string;
  secretSealed: string;
  webhookDisabled: boolean;
}

/** How an attempt ended, for `recordAttempt`. */
export type AttemptOutcome =
  | { outcome: 'succeeded' }
  | {
      outcome: 'failed';
      /** When to try again; null when the delivery has run out of time. */
      retryInMs: number | null;
      /** A webhook failing for this long is disabled, with `reason`. */
      disableAfterMs: number;
      reason: string;
    };

/** What `recordAttempt` did: whether another attempt is due, and whether it disabled the webhook. */
export interface RecordedAttempt {
  retrying: boolean;
  disabled: boolean;
}

export interface AttemptRecord extends Omit<DeliveryAttempt, 'createdAt'> {
  deliveryId: string;
  webhookId: string;
}

/** A delivery to queue: its id and the attempt the queue message is for. */
export interface QueuedAttempt {
  deliveryId: string;
  attempt: number;
  delayMs: number;
}

const outboxRows = z.array(
  z.object({
    id: z.string(),
    type: z.enum(webhookEventTypes),
    owner: z.string(),
    subjectId: z.string(),
    createdAt: z.date(),
  }),
);
const idRows = z.array(z.object({ id: z.string() }));
const pendingRows = z.array(z.object({ id: z.string(), attempts: z.int() }));
const claimedRows = z
  .array(
    z.object({
      id: z.string(),
      webhookId: z.string(),
      eventId: z.string(),
      eventType: z.string(),
      body: z.string(),
      retryUntil: z.date(),
      url: z.string(),
      secretSealed: z.string(),
      webhookDisabled: z.boolean(),
    }),
  )
  .max(1);

interface RelayOptions {
  limit: number;
  /** How long a delivery is retried for from now. */
  retryForMs: number;
  /** The event's `data`: the job or sweep as the API shows it; null when it is gone. */
  describe: (event: OutboxEvent) => Promise<unknown>;
}

/** The JSON every attempt of an event sends: the same id, type and time each time. */
function eventBody(event: OutboxEvent, data: unknown): string {
  return JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt.toISOString(), data });
}

/**
 * Turns up to `limit` outbox events into deliveries, one per enabled webhook of the event's owner
 * that wants it, and marks them relayed; all in one transaction, rows locked with SKIP LOCKED so
 * relays on several workers split the outbox between them. Returns the deliveries created.
 */
async function relayEvents(prisma: PrismaClient, options: RelayOptions): Promise<QueuedAttempt[]> {
  return prisma.$transaction(
    async (tx) => {
      const events = outboxRows.parse(
        await tx.$queryRaw`
          SELECT id::text, type, owner, subject_id::text AS "subjectId", created_at AS "createdAt"
          FROM webhook_events WHERE relayed_at IS NULL
          ORDER BY created_at LIMIT ${options.limit} FOR UPDATE SKIP LOCKED`,
      );
      const created: QueuedAttempt[] = [];
      for (const event of events) {
        const data = await options.describe(event);
        if (data !== null) {
          const body = eventBody(event, data);
          const inserted = idRows.parse(
            await tx.$queryRaw`
              INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, body, next_attempt_at, retry_until)
              SELECT gen_random_uuid(), w.id, ${event.id}::uuid, ${event.type}, ${body}, now(),
                now() + make_interval(secs => ${options.retryForMs / 1000})
              FROM webhooks w
              WHERE w.owner = ${event.owner} AND w.disabled_at IS NULL
                AND (${event.type} = ANY (w.events) OR '*' = ANY (w.events))
              ON CONFLICT (webhook_id, event_id) DO NOTHING
              RETURNING id::text`,
          );
          created.push(...inserted.map((row) => ({ deliveryId: row.id, attempt: 1, delayMs: 0 })));
        }
        await tx.$executeRaw`UPDATE webhook_events SET relayed_at = now() WHERE id = ${event.id}::uuid`;
      }
      return created;
    },
    { timeout: 60_000 },
  );
}

/**
 * Takes attempt `attempt` of a pending delivery: only when the attempt before it is the last one
 * made, so a queue message delivered twice (or queued again by `stale`) posts once. The delivery
 * is leased for `leaseMs`: `stale` leaves it alone meanwhile. Null when it is not this attempt's turn.
 */
async function claimAttempt(
  prisma: PrismaClient,
  deliveryId: string,
  attempt: number,
  leaseMs: number,
): Promise<ClaimedDelivery | null> {
  const [claimed] = claimedRows.parse(
    await prisma.$queryRaw`
      WITH claimed AS (
        UPDATE webhook_deliveries SET attempts = ${attempt}, updated_at = now(),
          next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
        WHERE id = ${deliveryId}::uuid AND status = 'pending' AND attempts = ${attempt - 1}
        RETURNING id, webhook_id, event_id, event_type, body, retry_until)
      SELECT c.id::text, c.webhook_id::text AS "webhookId", c.event_id::text AS "eventId",
        c.event_type AS "eventType", c.body, c.retry_until AS "retryUntil", w.url,
        w.secret_sealed AS "secretSealed", w.disabled_at IS NOT NULL AS "webhookDisabled"
      FROM claimed c JOIN webhooks w ON w.id = c.webhook_id`,
  );
  return claimed ?? null;
}

/**
 * Records an attempt and what follows from it, in one transaction: the delivery succeeded, waits
 * for its next attempt, or failed for good; a success ends the webhook's failing streak, and a
 * failure disables the webhook once its streak has lasted `disableAfterMs` (its pending delivery
 * then fails too).
 */
async function recordAttempt(
  prisma: PrismaClient,
  record: AttemptRecord,
  result: AttemptOutcome,
): Promise<RecordedAttempt> {
  const { deliveryId, webhookId, attempt } = record;
  return prisma.$transaction(async (tx) => {
    await tx.$executeRaw`
      INSERT INTO webhook_delivery_attempts (delivery_id, attempt, status_code, duration_ms, error, response_excerpt)
      VALUES (${deliveryId}::uuid, ${attempt}, ${record.statusCode}, ${Math.round(record.durationMs)}, ${record.error},
        ${record.responseExcerpt})
      ON CONFLICT (delivery_id, attempt) DO NOTHING`;
    if (result.outcome === 'succeeded') {
      await tx.$executeRaw`
        UPDATE webhook_deliveries SET status = 'succeeded', next_attempt_at = NULL, updated_at = now()
        WHERE id = ${deliveryId}::uuid`;
      await tx.$executeRaw`
        UPDATE webhooks SET failing_since = NULL WHERE id = ${webhookId}::uuid AND failing_since IS NOT NULL`;
      return { retrying: false, disabled: false };
    }
    await tx.$executeRaw`
      UPDATE webhooks SET failing_since = now(), updated_at = now() WHERE id = ${webhookId}::uuid AND failing_since IS NULL`;
    const disabled =
      (await tx.$executeRaw`
        UPDATE webhooks SET disabled_at = now(), disabled_reason = ${result.reason}, updated_at = now()
        WHERE id = ${webhookId}::uuid AND disabled_at IS NULL
          AND failing_since <= now() - make_interval(secs => ${result.disableAfterMs / 1000})`) === 1;
    const retryInMs = disabled ? null : result.retryInMs;
    if (retryInMs === null) {
      await tx.$executeRaw`
        UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = now()
        WHERE id = ${deliveryId}::uuid`;
    } else {
      await tx.$executeRaw`
        UPDATE webhook_deliveries SET updated_at = now(),
          next_attempt_at = now() + make_interval(secs => ${retryInMs / 1000})
        WHERE id = ${deliveryId}::uuid`;
    }
    return { retrying: retryInMs !== null, disabled };
  });
}

const deliveryListColumns = {
  id: true,
  webhookId: true,
  eventId: true,
  eventType: true,
  status: true,
  attempts: true,
  nextAttemptAt: true,
  retryUntil: true,
  createdAt: true,
  attemptLog: { orderBy: { attempt: 'desc' }, take: 20 },
} as const;

const deliveryStatus = z.enum(deliveryStatuses);

/** Deliveries of webhook events: the relay's outbox work, each attempt, and what a client sees of them. */
export function createDeliveriesRepository(prisma: PrismaClient) {
  return {
    relayEvents: (options: RelayOptions) => relayEvents(prisma, options),

    /**
     * Pending deliveries whose next attempt is over `graceMs` late: their queue message was lost
     * (Redis flushed, or a worker died between the commit and queueing). Their next attempt to queue.
     */
    async stale(graceMs: number, limit: number): Promise<QueuedAttempt[]> {
      const rows = pendingRows.parse(
        await prisma.$queryRaw`
          SELECT id::text, attempts FROM webhook_deliveries
          WHERE status = 'pending' AND next_attempt_at < now() - make_interval(secs => ${graceMs / 1000})
          ORDER BY next_attempt_at LIMIT ${limit}`,
      );
      return rows.map((row) => ({ deliveryId: row.id, attempt: row.attempts + 1, delayMs: 0 }));
    },

    /**
     * Removes up to `limit` events relayed over `olderThanMs` ago, with their deliveries and
     * attempts, unless a delivery of theirs is still pending. Returns how many went.
     */
    async prune(olderThanMs: number, limit: number): Promise<number> {
      return prisma.$executeRaw`
        DELETE FROM webhook_events WHERE id IN (
          SELECT e.id FROM webhook_events e
          WHERE e.relayed_at < now() - make_interval(secs => ${olderThanMs / 1000})
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
          LIMIT ${limit})`;
    },

    claimAttempt: (deliveryId: string, attempt: number, leaseMs: number) =>
      claimAttempt(prisma, deliveryId, attempt, leaseMs),

    recordAttempt: (record: AttemptRecord, result: AttemptOutcome) => recordAttempt(prisma, record, result),

    /** Ends a delivery without an attempt (its webhook was disabled meanwhile). */
    async abandon(deliveryId: string): Promise<void> {
      await prisma.webhookDelivery.updateMany({
        where: { id: deliveryId, status: 'pending' },
        data: { status: 'failed', nextAttemptAt: null },
      });
    },

    /** The webhook's most recent deliveries, newest first, with their latest attempts. */
    async list(webhookId: string, limit: number): Promise<Delivery[]> {
      const rows = await prisma.webhookDelivery.findMany({
        where: { webhookId },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
        select: deliveryListColumns,
      });
      return rows.map((row) => ({ ...row, status: deliveryStatus.parse(row.status) }));
    },

    /**
     * Sends a delivery of `webhookId` again, as a pending delivery retried for `retryForMs`, and
     * enables its webhook again (someone asked for it by hand). The attempt to queue; null when
     * the webhook has no such delivery.
     */
    async redeliver(webhookId: string, deliveryId: string, retryForMs: number): Promise<QueuedAttempt | null> {
      return prisma.$transaction(async (tx) => {
        const [row] = pendingRows.parse(
          await tx.$queryRaw`
            UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now(),
              retry_until = now() + make_interval(secs => ${retryForMs / 1000})
            WHERE id = ${deliveryId}::uuid AND webhook_id = ${webhookId}::uuid
            RETURNING id::text, attempts`,
        );
        if (!row) return null;
        await tx.$executeRaw`
          UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL, updated_at = now()
          WHERE id = ${webhookId}::uuid AND disabled_at IS NOT NULL`;
        return { deliveryId: row.id, attempt: row.attempts + 1, delayMs: 0 };
      });
    },
  };
}

export type DeliveriesRepository = ReturnType<typeof createDeliveriesRepository>;
