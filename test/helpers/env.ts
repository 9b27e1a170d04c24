import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { uniqueName } from './database.js';

export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const prefixes = new Set<string>();

/** A queue prefix of the test file's own, whose Redis keys are deleted after the file (see redis-cleanup.ts). */
export function queuePrefix(label = 'q'): string {
  const prefix = `trainer-test-${uniqueName(label)}`;
  prefixes.add(prefix);
  return prefix;
}

/** The queue prefixes this test file has used. */
export function usedQueuePrefixes(): readonly string[] {
  return [...prefixes];
}

/** A configuration for one test file: its own database, queue prefix, an ephemeral port. */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: queuePrefix(),
    PORT: '0',
    LOG_LEVEL: 'silent',
    WORKER_CONCURRENCY: '1',
    RECONCILE_INTERVAL_MS: '1000',
    ...overrides,
  });
}

export function silentLogger(): Logger {
  return createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', name: 'test' });
}
