import { Redis } from 'ioredis';

/**
 * An ioredis connection. BullMQ workers need `maxRetriesPerRequest: null` so a Redis restart
 * stalls their blocking commands instead of failing them; API-side connections fail fast instead.
 */
export function createRedis(url: string, purpose: 'worker' | 'client'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: purpose === 'worker' ? null : 1,
    enableOfflineQueue: purpose === 'worker',
    lazyConnect: false,
  });
}

export type { Redis };
