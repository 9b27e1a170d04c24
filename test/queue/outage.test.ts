import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { isQueueUnavailable } from '../../src/queue/outage.js';

describe('recognising an unreachable Redis', () => {
  it('in what ioredis really rejects with while nothing listens', async () => {
    const failFast = new Redis('redis://127.0.0.1:1', {
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
    failFast.on('error', () => undefined);
    const retried = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 1, retryStrategy: () => 10 });
    retried.on('error', () => undefined);
    try {
      const offline = await failFast.ping().then(
        () => null,
        (error: unknown) => error,
      );
      const gaveUp = await retried.ping().then(
        () => null,
        (error: unknown) => error,
      );
      expect(isQueueUnavailable(offline)).toBe(true);
      expect(isQueueUnavailable(gaveUp)).toBe(true);
    } finally {
      failFast.disconnect();
      retried.disconnect();
    }
    const lazy = new Redis('redis://127.0.0.1:1', { lazyConnect: true, retryStrategy: () => null });
    lazy.on('error', () => undefined);
    const refused = await lazy.connect().then(
      () => null,
      (error: unknown) => error,
    );
    expect(isQueueUnavailable(refused)).toBe(true);
    lazy.disconnect();
  });

  it('not in an error Redis answers with', () => {
    expect(
      isQueueUnavailable(Object.assign(new Error('WRONGTYPE Operation against a key'), { name: 'ReplyError' })),
    ).toBe(false);
    expect(
      isQueueUnavailable(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) })),
    ).toBe(true);
  });
});
