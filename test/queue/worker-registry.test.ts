import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '../../src/queue/redis.js';
import { announceWorker, listWorkers } from '../../src/queue/worker-registry.js';
import { queuePrefix, redisUrl } from '../helpers/env.js';

describe('worker registry', () => {
  let redis: Redis;
  let monitor: Redis | undefined;
  beforeAll(async () => {
    redis = createRedis(redisUrl, 'client');
    // A client connection fails fast while it connects; a beat sent then would be lost.
    if (redis.status !== 'ready') await once(redis, 'ready');
  });
  afterAll(() => {
    monitor?.disconnect();
    redis.disconnect();
  });

  it('lists announced workers and forgets one that stops', async () => {
    const prefix = queuePrefix('registry');
    const worker = announceWorker(redis, prefix, { backend: 'wasm', concurrency: 2 }, 1000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const listed = await listWorkers(redis, prefix);
    expect(listed).toEqual([worker.announcement]);
    await worker.stop();
    expect(await listWorkers(redis, prefix)).toEqual([]);
    expect(await redis.zcard(`${prefix}:workers-index`)).toBe(0);
  });

  it('drops a worker that died without saying so once its announcement expires', async () => {
    const prefix = queuePrefix('registry');
    // A dead worker: its key and index entry were written with a 300 ms life and never renewed.
    await redis.set(`${prefix}:workers:ghost:1`, JSON.stringify({ id: 'ghost:1' }), 'PX', 300);
    await redis.zadd(`${prefix}:workers-index`, Date.now() + 300, 'ghost:1');
    expect((await listWorkers(redis, prefix)).map((worker) => worker.id)).toEqual(['ghost:1']);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await listWorkers(redis, prefix)).toEqual([]);
    expect(await redis.zcard(`${prefix}:workers-index`)).toBe(0);
  });

  it('reads the index, never SCANs the keyspace', async () => {
    const prefix = queuePrefix('registry');
    const worker = announceWorker(redis, prefix, { backend: 'wasm', concurrency: 1 }, 1000);
    // A keyspace full of other entries under the same prefix, as a busy queue has.
    await redis.mset(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`${prefix}:bull:x:${i}`, '1'])));
    monitor = await redis.monitor();
    const commands: string[] = [];
    // The monitor sees every client of this Redis; keep the commands about this test's keys (a
    // SCAN of them names the prefix in its MATCH pattern).
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.slice(1).some((arg) => String(arg).startsWith(prefix))) commands.push(String(args[0]).toLowerCase());
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await listWorkers(redis, prefix)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    monitor.disconnect();
    monitor = undefined;
    expect(commands).toContain('zrangebyscore');
    expect(commands).not.toContain('scan');
    await worker.stop();
  });
});
