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

/** The keys matching `pattern`, a SCAN batch at a time (never KEYS, which blocks Redis). */
export async function* scanKeys(redis: Redis, pattern: string, count = 1000): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', count);
    if (keys.length > 0) yield keys;
    cursor = next;
  } while (cursor !== '0');
}

/** Deletes every key under a queue prefix at `url`, as tests and benchmarks do when they finish. */
export async function deletePrefixedKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    for await (const keys of scanKeys(redis, `${prefix}:*`)) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
