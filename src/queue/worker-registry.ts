import os from 'node:os';
import { scanKeys, type Redis } from './redis.js';

export interface WorkerAnnouncement {
  id: string;
  host: string;
  pid: number;
  backend: string;
  concurrency: number;
  startedAt: string;
}

const keyPattern = (prefix: string) => `${prefix}:workers:*`;

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
  const key = `${prefix}:workers:${announcement.id}`;
  const beat = () => redis.set(key, JSON.stringify(announcement), 'PX', intervalMs * 3).catch(() => undefined);
  void beat();
  const timer = setInterval(() => void beat(), intervalMs);
  timer.unref();
  return {
    announcement,
    async stop(): Promise<void> {
      clearInterval(timer);
      await redis.del(key).catch(() => undefined);
    },
  };
}

/** Workers whose announcement has not expired. */
export async function listWorkers(redis: Redis, prefix: string): Promise<WorkerAnnouncement[]> {
  const keys: string[] = [];
  for await (const batch of scanKeys(redis, keyPattern(prefix), 200)) keys.push(...batch);
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values.flatMap((value) => (value ? [JSON.parse(value) as WorkerAnnouncement] : []));
}
