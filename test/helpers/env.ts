import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { uniqueName } from './database.js';

export const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A configuration for one test file: its own database, queue prefix, an ephemeral port. */
export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `trainer-test-${uniqueName('q')}`,
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
