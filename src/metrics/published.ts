import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { MetricsSnapshot } from './registry.js';

// Each process's snapshot lives in a key of its own that expires, and an index (a sorted set by
// publish time) names the live ones, so a scrape never SCANs a keyspace full of queue entries.
const indexKey = (prefix: string) => `${prefix}:metrics`;
const snapshotKey = (prefix: string, id: string) => `${prefix}:metrics:${id}`;

/**
 * Publishes `registry`'s metrics to Redis every `intervalMs` under this process's id, expiring
 * after three missed beats, so a dead worker's series leave the scrape. Counters are cumulative,
 * so a missed publish loses nothing but freshness.
 */
export function publishMetrics(redis: Redis, prefix: string, id: string, registry: Registry, intervalMs = 5000) {
  const publish = async () => {
    const snapshot = JSON.stringify(await registry.getMetricsAsJSON());
    const now = Date.now();
    await redis
      .multi()
      .set(snapshotKey(prefix, id), snapshot, 'PX', intervalMs * 3)
      .zadd(indexKey(prefix), now, id)
      .zremrangebyscore(indexKey(prefix), '-inf', now - 3_600_000)
      .exec();
  };
  const beat = () => void publish().catch(() => undefined);
  beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return {
    /** Publishes now (so a scrape need not wait for the next beat). */
    publish,
    async stop(): Promise<void> {
      clearInterval(timer);
      await redis
        .multi()
        .del(snapshotKey(prefix, id))
        .zrem(indexKey(prefix), id)
        .exec()
        .catch(() => undefined);
    },
  };
}

/** The snapshots of every process that published within the last `withinMs`. */
export async function readPublishedMetrics(
  redis: Redis,
  prefix: string,
  withinMs = 60_000,
): Promise<MetricsSnapshot[]> {
  const ids = await redis.zrangebyscore(indexKey(prefix), Date.now() - withinMs, '+inf');
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => snapshotKey(prefix, id)));
  return values.flatMap((value) => (value ? [JSON.parse(value) as MetricsSnapshot] : []));
}
