// Runs in every test file (vitest setupFiles): once the file is done, deletes the Redis keys under
// the queue prefixes it used, so test runs leave the shared Redis as they found it.
import { afterAll } from 'vitest';
import { deletePrefixedKeys } from '../../src/queue/redis.js';
import { redisUrl, usedQueuePrefixes } from './env.js';

afterAll(async () => {
  // Best effort: leftover keys are no reason to fail a file whose tests passed.
  for (const prefix of usedQueuePrefixes()) await deletePrefixedKeys(redisUrl, prefix).catch(() => undefined);
});
