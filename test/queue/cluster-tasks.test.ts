import { afterEach, describe, expect, it } from 'vitest';
import { startClusterTasks } from '../../src/queue/cluster-tasks.js';
import { createRedis, scanKeys, type Redis } from '../../src/queue/redis.js';
import { queuePrefix, redisUrl, silentLogger } from '../helpers/env.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('cluster tasks', () => {
  const connections: Redis[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const connection of connections.splice(0)) connection.disconnect();
  });

  /** One worker process's share: its own connections and its own copy of the tasks. */
  function workerProcess(prefix: string, everyMs: number, onRun: () => void, checkEveryMs?: number) {
    const client = createRedis(redisUrl, 'worker');
    const consumer = createRedis(redisUrl, 'worker');
    connections.push(client, consumer);
    const tasks = startClusterTasks(
      { client, consumer },
      prefix,
      [{ name: 'tick', everyMs, run: () => Promise.resolve(onRun()) }],
      silentLogger(),
      checkEveryMs,
    );
    closers.push(() => tasks.close());
    return tasks;
  }

  it('runs a task once per interval across four workers, not once per worker', async () => {
    const prefix = queuePrefix('tasks');
    const runs: number[] = [];
    for (let i = 0; i < 4; i++) workerProcess(prefix, 500, () => runs.push(Date.now()));
    await sleep(3200);
    // About one run per 500 ms (the first at once): 6 to 8 here; four workers each running it would make 24 or more.
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.length).toBeLessThanOrEqual(9);
  });

  it('schedules the task again after Redis forgets everything (an empty restart)', async () => {
    const prefix = queuePrefix('tasks');
    let runs = 0;
    const client = createRedis(redisUrl, 'client');
    connections.push(client);
    workerProcess(prefix, 300, () => runs++, 300);
    await sleep(1000);
    expect(runs).toBeGreaterThanOrEqual(2);
    // What an empty restart leaves: none of the prefix's keys, the scheduler's included.
    for await (const keys of scanKeys(client, `${prefix}:*`)) await client.del(...keys);
    const afterFlush = runs;
    await sleep(1500);
    expect(runs - afterFlush).toBeGreaterThanOrEqual(2);
  });
});
