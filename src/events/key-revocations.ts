import type { Redis } from 'ioredis';

/** Ids of revoked API keys, for every API process to drop from its key cache. */
export const keyRevocationsChannel = (prefix: string) => `${prefix}:events:keys:revoked`;

/** Tells every API process that a key was revoked; call after the revocation committed. */
export async function publishKeyRevocation(redis: Redis, prefix: string, keyId: string): Promise<void> {
  await redis.publish(keyRevocationsChannel(prefix), keyId);
}

export interface RevocationListener {
  /** A key was revoked by some process. */
  revoked(keyId: string): void;
  /** Revocations may have been published while the subscriber was away (Redis restarted). */
  missed(): void;
}

/**
 * Hands revocations to `listener`, on a subscriber connection (it may serve other channels too).
 * `ready` settles once Redis confirmed the subscription; `close` ends it.
 */
export function subscribeKeyRevocations(
  subscriber: Redis,
  prefix: string,
  listener: RevocationListener,
): { ready: Promise<void>; close: () => Promise<void> } {
  const channel = keyRevocationsChannel(prefix);
  const onMessage = (from: string, keyId: string) => {
    if (from === channel) listener.revoked(keyId);
  };
  let connectedBefore = subscriber.status === 'ready';
  // ioredis subscribes again after a reconnect; what was published in between is lost.
  const onReady = () => {
    if (connectedBefore) listener.missed();
    connectedBefore = true;
  };
  subscriber.on('message', onMessage);
  subscriber.on('ready', onReady);
  const ready = subscriber.subscribe(channel).then(() => undefined);
  return {
    ready,
    async close() {
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      await subscriber.unsubscribe(channel).catch(() => undefined);
    },
  };
}
