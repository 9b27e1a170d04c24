import { retryDelayMs, type RetryPolicy } from '../../domain/webhooks.js';
import type { Logger } from '../../logger.js';
import type { WebhookDeliveryMessage } from '../../queue/webhook-queue.js';
import type { SecretBox } from '../../store/webhooks/secret-box.js';
import type {
  ClaimedDelivery,
  DeliveriesRepository,
  QueuedAttempt,
} from '../../store/webhooks/deliveries-repository.js';
import type { PostAnswer } from './safe-post.js';
import { signatureHeader, signatureOf } from './signature.js';

export interface DelivererDeps {
  deliveries: Pick<DeliveriesRepository, 'claimAttempt' | 'recordAttempt' | 'abandon'>;
  secrets: SecretBox;
  /** POSTs a body (see safe-post.ts); throws when no answer came. */
  post: (url: string, body: string, headers: Record<string, string>) => Promise<PostAnswer>;
  /** Queues the next attempt. */
  enqueue: (attempts: readonly QueuedAttempt[]) => Promise<void>;
  retry: RetryPolicy;
  /** How long a webhook may fail before it is disabled. */
  disableAfterMs: number;
  /** How long an attempt holds its delivery before the relay may queue it again (longer than the timeout). */
  leaseMs: number;
  logger: Logger;
  random?: () => number;
}

/** The headers of one attempt: the signature is made afresh each time, over the same body. */
function headersOf(secret: string, delivery: { id: string; eventId: string; eventType: string; body: string }) {
  return {
    [signatureHeader]: signatureOf(secret, delivery.body, Math.floor(Date.now() / 1000)),
    'trainer-event-id': delivery.eventId,
    'trainer-event-type': delivery.eventType,
    'trainer-delivery-id': delivery.id,
    'user-agent': 'trainer-webhooks/1',
  };
}

/** An attempt's result as the record keeps it: a 2xx is a success, anything else (or nothing) a failure. */
async function attempt(post: DelivererDeps['post'], url: string, body: string, headers: Record<string, string>) {
  const started = performance.now();
  try {
    const answer = await post(url, body, headers);
    const ok = answer.statusCode >= 200 && answer.statusCode < 300;
    return {
      ok,
      statusCode: answer.statusCode,
      error: ok ? null : `answered ${answer.statusCode}`,
      responseExcerpt: answer.excerpt,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      statusCode: null,
      error: message,
      responseExcerpt: null,
      durationMs: performance.now() - started,
    };
  }
}

/**
 * An attempt of a claimed delivery. A secret that no longer opens (WEBHOOK_SECRET_KEY was changed)
 * is a failed attempt like any other, so the delivery still ends and the webhook is disabled in time.
 */
function attemptSigned(deps: DelivererDeps, delivery: ClaimedDelivery) {
  let secret: string;
  try {
    secret = deps.secrets.open(delivery.secretSealed, delivery.webhookId);
  } catch {
    const error = 'the signing secret cannot be opened: was WEBHOOK_SECRET_KEY changed?';
    return Promise.resolve({ ok: false, statusCode: null, error, responseExcerpt: null, durationMs: 0 });
  }
  return attempt(deps.post, delivery.url, delivery.body, headersOf(secret, delivery));
}

/** `24 h`, `90 s`: how long a webhook failed, in its disabled reason. */
function durationText(ms: number): string {
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10} h`;
  if (ms >= 60_000) return `${Math.round(ms / 6_000) / 10} min`;
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * Makes one attempt of a delivery, as a queue message asks: signs and POSTs the body, records the
 * attempt, and queues the next one (exponential backoff with full jitter) until the delivery's
 * time is up. A message for an attempt already made, or not yet due, does nothing.
 */
export function createDeliverer(deps: DelivererDeps) {
  const random = deps.random ?? Math.random;
  return async function deliver(message: WebhookDeliveryMessage): Promise<void> {
    const delivery = await deps.deliveries.claimAttempt(message.deliveryId, message.attempt, deps.leaseMs);
    if (!delivery) return;
    if (delivery.webhookDisabled) return deps.deliveries.abandon(delivery.id);
    const result = await attemptSigned(deps, delivery);
    const delayMs = retryDelayMs(deps.retry, message.attempt, random());
    const retryInMs = Date.now() + delayMs < delivery.retryUntil.getTime() ? delayMs : null;
    const { ok, ...recorded } = result;
    const outcome = ok
      ? ({ outcome: 'succeeded' } as const)
      : ({
          outcome: 'failed',
          retryInMs,
          disableAfterMs: deps.disableAfterMs,
          reason: `every delivery failed for ${durationText(deps.disableAfterMs)}; the last: ${result.error}`,
        } as const);
    const { retrying, disabled } = await deps.deliveries.recordAttempt(
      { ...recorded, deliveryId: delivery.id, webhookId: delivery.webhookId, attempt: message.attempt },
      outcome,
    );
    const fields = { webhookId: delivery.webhookId, deliveryId: delivery.id, attempt: message.attempt };
    if (ok) deps.logger.debug({ ...fields, statusCode: result.statusCode }, 'webhook delivered');
    else
      deps.logger.info(
        { ...fields, statusCode: result.statusCode, error: result.error, retrying },
        'webhook delivery failed',
      );
    if (disabled) deps.logger.warn({ webhookId: delivery.webhookId }, 'webhook disabled: it kept failing');
    if (retrying && retryInMs !== null)
      await deps.enqueue([{ deliveryId: delivery.id, attempt: message.attempt + 1, delayMs: retryInMs }]);
  };
}
