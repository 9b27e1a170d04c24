import os from 'node:os';
import type { Accelerator } from '../domain/spec-vocabulary.js';
import type { Redis } from './redis.js';

export interface WorkerAnnouncement {
  id: string;
  host: string;
  pid: number;
  backend: string;
  concurrency: number;
  /** What it trains on, which decides the queue it takes jobs from; absent from older workers (cpu). */
  accelerator?: Accelerator;
  startedAt: string;
}

// Each worker's announcement lives in a key of its own that expires, and an index (a sorted set of
// worker ids by the time their announcement expires) names the live ones, so `/health` reads two
// keys' worth of commands instead of SCANning a keyspace full of queue entries on every call.
const announcementKey = (prefix: string, id: string) => `${prefix}:workers:${id}`;
const indexKey = (prefix: string) => `${prefix}:workers-index`;

/** Announces this worker in Redis every `intervalMs`; the entry expires if the worker dies. */
export function announceWorker(
  redis: Redis,
  prefix: string,
  details: Omit<WorkerAnnouncement, 'id' | 'host' | 'pid' | 'startedAt'>,
  intervalMs = 5000,
) {
  const announcement: WorkerAnnouncement = {
    id: `${os.hostname()}:${process.pid}`,
    host: os.hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    ...details,
  };
  const ttlMs = intervalMs * 3;
  const beat = () =>
    redis
      .multi()
      .set(announcementKey(prefix, announcement.id), JSON.stringify(announcement), 'PX', ttlMs)
      .zadd(indexKey(prefix), Date.now() + ttlMs, announcement.id)
      .exec()
      .catch(() => undefined);
  void beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    announcement,
    async stop(): Promise<void> {
      clearInterval(timer);
      await redis
        .multi()
        .del(announcementKey(prefix, announcement.id))
        .zrem(indexKey(prefix), announcement.id)
        .exec()
        .catch(() => undefined);
    },
  };
}

/** Workers whose announcement has not expired. */
export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerAnnouncement[]> {
  const now = Date.now();
  // Dead workers' ids leave the index here, whoever reads first; their keys expired by themselves.
  await redis.zremrangebyscore(indexKey(prefix), '-inf', now);
  const ids = await redis.zrangebyscore(indexKey(prefix), now, '+inf');
  if (ids.length === 0) return [];
  const values = await redis.mget(...ids.map((id) => announcementKey(prefix, id)));
  return values.flatMap((value) => (value ? [JSON.parse(value) as WorkerAnnouncement] : []));
}
