import { z } from 'zod';
import { deliveryStatuses, webhookSubscriptions } from '../../domain/webhooks.js';
import { decimalInteger, isoTime, uuidPattern } from '../http/common-schemas.js';

const uuid = (what: string) => z.string().regex(uuidPattern, 'must be a UUID').describe(what);

export const webhookEvent = z.enum(webhookSubscriptions).meta({
  description: 'An event a webhook receives; `*` is every event',
  examples: ['job.completed'],
});

export const newWebhookBody = z
  .object({
    url: z
      .string()
      .max(2048)
      .meta({ description: 'Where events are POSTed: http:// or https://', examples: ['https://example.com/hooks'] }),
    events: z
      .array(webhookEvent)
      .min(1)
      .max(webhookSubscriptions.length)
      .refine((events) => new Set(events).size === events.length, 'must not name an event twice'),
    description: z.string().max(500).optional().describe('What the webhook is for'),
  })
  .strict();
export type NewWebhookBody = z.output<typeof newWebhookBody>;

export const webhookView = z
  .object({
    id: z.uuid(),
    owner: z.string(),
    url: z.string(),
    events: z.array(webhookEvent),
    description: z.string().nullable(),
    enabled: z.boolean().describe('False once the webhook was disabled for failing; a redelivery enables it again'),
    disabledAt: isoTime.nullable(),
    disabledReason: z.string().nullable().describe('Why it was disabled'),
    failingSince: isoTime.nullable().describe('When the current run of failed attempts began; null after a success'),
    createdAt: isoTime,
    links: z.object({ self: z.string(), deliveries: z.string() }),
  })
  .meta({ id: 'Webhook' });
export type WebhookView = z.output<typeof webhookView>;

export const createdWebhook = webhookView
  .extend({
    secret: z
      .string()
      .describe(
        'The signing secret: shown only in this answer, never again. See README "Webhooks" to check a signature',
      ),
  })
  .meta({ id: 'CreatedWebhook' });

export const webhookList = z.object({ webhooks: z.array(webhookView) });

export const deliveryAttempt = z.object({
  attempt: z.int(),
  statusCode: z.int().nullable().describe("The receiver's status; null when no answer came"),
  durationMs: z.int(),
  error: z.string().nullable(),
  response: z.string().nullable().describe("The start of the receiver's answer (1 KiB at most)"),
  createdAt: isoTime,
});

export const deliveryView = z
  .object({
    id: z.uuid(),
    eventId: z.uuid().describe('The same on every attempt: receivers drop duplicates by it'),
    eventType: z.string(),
    status: z.enum(deliveryStatuses),
    attempts: z.int(),
    nextAttemptAt: isoTime.nullable().describe('When the next attempt is due, while pending'),
    retryUntil: isoTime.describe('When a pending delivery gives up'),
    createdAt: isoTime,
    attemptLog: z.array(deliveryAttempt).describe('The latest attempts, newest first'),
  })
  .meta({ id: 'WebhookDelivery' });
export type DeliveryView = z.output<typeof deliveryView>;

export const deliveryList = z.object({ deliveries: z.array(deliveryView) });

export const webhookIdParams = z.object({ id: uuid('A webhook id') });
export const deliveryParams = z.object({ id: uuid('A webhook id'), deliveryId: uuid('A delivery id') });
export const deliveryQuery = z
  .object({ limit: decimalInteger(1, 200, '50').optional().describe('How many, newest first; 50 unless told') })
  .strict();
