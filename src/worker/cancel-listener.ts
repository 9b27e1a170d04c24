import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { cancelChannel } from '../queue/cancel-channel.js';

/** The part of a Redis connection a cancel listener uses. */
export type CancelSubscriber = Pick<Redis, 'subscribe' | 'unsubscribe' | 'on' | 'off'>;

/**
 * Listens on the cancel channel of `prefix` and passes every announced job id to `onCancel`, which
 * ignores ids of jobs this worker does not hold. Give it a connection of its own (one that
 * subscribes can do nothing else); ioredis subscribes again by itself after a reconnect.
 */
export function listenForCancels(
  subscriber: CancelSubscriber,
  prefix: string,
  onCancel: (jobId: string) => void,
  logger: Logger,
) {
  const channel = cancelChannel(prefix);
  const onMessage = (from: string, jobId: string) => {
    if (from === channel) onCancel(jobId);
  };
  subscriber.on('message', onMessage);
  // Not awaited by the caller: until it is subscribed (or while Redis is down) the poll of Postgres stands in.
  const subscribed = subscriber.subscribe(channel).then(
    () => logger.debug({ channel }, 'listening for cancels'),
    (error: unknown) => logger.warn({ err: error }, 'could not subscribe to cancels; polling Postgres only'),
  );
  return {
    subscribed,
    async close(): Promise<void> {
      subscriber.off('message', onMessage);
      await subscriber.unsubscribe(channel).catch(() => undefined);
    },
  };
}
