import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config.js';
import type { Service } from '../../../src/main/process.js';
import { Queue } from 'bullmq';
import { retentionTask } from '../../../src/main/start-retention.js';
import { clusterTasksQueueName, startClusterTasks } from '../../../src/queue/cluster-tasks.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { redisUrl, silentLogger, testConfig } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';

/** A worker's share of retention, on connections of its own, as each worker process has. */
function startWorkerRetention(config: Config, database: TestDatabase) {
  const client = createRedis(redisUrl, 'worker');
  const consumer = createRedis(redisUrl, 'worker');
  const metrics = new Registry();
  const logger = silentLogger();
  const service = startClusterTasks(
    { client, consumer },
    config.QUEUE_PREFIX,
    [retentionTask(config, logger, { prisma: database.prisma, metrics })],
    logger,
  );
  return {
    metrics,
    async close() {
      await service.close();
      client.disconnect();
      consumer.disconnect();
    },
  } satisfies Service & { metrics: Registry };
}

describe('the retention purge on a BullMQ job scheduler', () => {
  let database: TestDatabase;
  let config: Config;
  let workers: ReturnType<typeof startWorkerRetention>[] = [];
  let commands: Redis;

  beforeAll(async () => {
    database = await createTestDatabase('retention_scheduler');
    config = testConfig(database.url, {
      RETENTION_INTERVAL_SECONDS: '1',
      RETENTION_BATCH_SIZE: '2',
      RETENTION_PAUSE_MS: '10',
    });
    commands = createRedis(redisUrl, 'worker');
  });
  afterAll(async () => {
    for (const worker of workers) await worker.close();
    commands?.disconnect();
    await database?.drop();
  });

  it('is registered once however many workers start, and one of them deletes the expired runs', async () => {
    const jobs = createJobsRepository(database.prisma);
    const expired: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const { id } = await insertFinishedRun(jobs, { retention: { days: 1 } });
      await database.prisma.$executeRaw`UPDATE jobs SET finished_at = now() - interval '2 days' WHERE id = ${id}::uuid`;
      expired.push(id);
    }
    const fresh = await insertFinishedRun(jobs, { retention: { days: 1 } });

    workers = [startWorkerRetention(config, database), startWorkerRetention(config, database)];
    const queue = new Queue(clusterTasksQueueName, { connection: commands, prefix: config.QUEUE_PREFIX });
    try {
      // Each worker upserts the same scheduler at start.
      let schedulers = await queue.getJobSchedulers();
      for (let waited = 0; schedulers.length === 0 && waited < 50; waited += 1) {
        await sleep(100);
        schedulers = await queue.getJobSchedulers();
      }
      expect(schedulers.map((scheduler) => scheduler.key)).toEqual(['retention-purge']);

      for (let waited = 0; waited < 100 && (await database.prisma.job.count()) > 1; waited += 1) await sleep(100);
      expect((await database.prisma.job.findMany({ select: { id: true } })).map((row) => row.id)).toEqual([fresh.id]);
      // Counted once, by whichever worker ran each purge.
      const counted = await Promise.all(
        workers.map(
          async (worker) =>
            (await worker.metrics.getSingleMetric('trainer_retention_deleted_runs_total')?.get())?.values[0]?.value ??
            0,
        ),
      );
      expect(counted.reduce((sum, value) => sum + value, 0)).toBe(5);

      await sleep(2500);
      const purges = await queue.getJobs(['completed', 'active', 'waiting', 'delayed']);
      // A scheduler's job id carries the time its iteration is due: one scheduler, one purge per interval.
      const due = purges.map((purge) => Number(purge.id?.split(':').at(-1))).sort((a, b) => a - b);
      expect(due.length).toBeGreaterThanOrEqual(3);
      for (let index = 1; index < due.length; index += 1) expect(due[index]! - due[index - 1]!).toBe(1000);
      expect(new Set(purges.map((purge) => purge.id)).size).toBe(purges.length);
    } finally {
      await queue.close();
    }
  });
});
