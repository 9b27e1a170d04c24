/**
 * Webhooks' vocabulary: the events a webhook may subscribe to, and the rules of its retries. The
 * store's triggers write exactly these type names (migration 20261204100000_webhooks).
 */

export const webhookEventTypes = [
  'job.started',
  'job.completed',
  'job.failed',
  'job.cancelled',
  'sweep.completed',
  'sweep.cancelled',
  'model.best',
] as const;

export type WebhookEventType = (typeof webhookEventTypes)[number];

/** What a webhook subscribes to: named events, or every event with `*`. */
export const webhookSubscriptions = [...webhookEventTypes, '*'] as const;
export type WebhookSubscription = (typeof webhookSubscriptions)[number];

/** Whether an event is the kind whose `data` is a sweep (else it is a job). */
export function isSweepEvent(type: WebhookEventType): boolean {
  return type.startsWith('sweep.');
}

export const deliveryStatuses = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof deliveryStatuses)[number];

/** How retries are spaced: exponential from `baseMs`, each delay at most `maxMs`. */
export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
}

/**
 * The delay before attempt `attempt + 1` after `attempt` failed: "full jitter" (a uniform draw from
 * zero to the exponential bound), so receivers that came back are not hit by every sender at once.
 * `random` is in [0, 1).
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: number): number {
  const bound = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(random * bound);
}
