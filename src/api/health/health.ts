import type { WorkerView } from './schemas.js';
import { withTimeout } from '../http/with-timeout.js';

/** What /health reports; each check is supplied by whoever composes the app. */
export interface HealthChecks {
  database: () => Promise<void>;
  redis: () => Promise<void>;
  /** Workers that announced themselves recently, with the training backend each one uses. */
  workers: () => Promise<WorkerView[]>;
}

async function probe(check: () => Promise<void>, timeoutMs: number) {
  const started = performance.now();
  try {
    await withTimeout(check(), timeoutMs, `no answer within ${timeoutMs} ms`);
    return { ok: true as const, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return { ok: false as const, error: (error as Error).message };
  }
}

/** Probes every dependency in parallel; `ok` is false when the database or Redis is unreachable. */
export async function healthReport(checks: HealthChecks, timeoutMs = 2000) {
  const [database, redis] = await Promise.all([probe(checks.database, timeoutMs), probe(checks.redis, timeoutMs)]);
  const workers = redis.ok ? await checks.workers().catch(() => []) : [];
  const backends = [...new Set(workers.map((worker) => worker.backend))];
  return { ok: database.ok && redis.ok, database, redis, training: { workers: workers.length, backends }, workers };
}
