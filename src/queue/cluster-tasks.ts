import { Queue, Worker } from 'bullmq';
import type { Logger } from '../logger.js';
import type { Redis } from './redis.js';

/** Housekeeping that must run once per cluster every `everyMs`, whichever worker runs it. */
export interface ClusterTask {
  /** The scheduler's id and the BullMQ job's name; unique among the tasks. */
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
}

export const clusterTasksQueueName = 'cluster-tasks';

/**
 * Runs each task once per interval across every worker of a queue prefix: one BullMQ job scheduler
 * per task puts one job in the queue per interval, and whichever worker takes it runs the task.
 * N workers used to run N passes of the same query per interval.
 *
 * Every worker upserts the schedulers when it starts and checks now and then that they still
 * exist, because Redis restarted empty forgets them, and the reconciler (the first task) is what
 * heals exactly that. A check that finds them there changes nothing.
 */
export function startClusterTasks(
  connections: { client: Redis; consumer: Redis },
  prefix: string,
  tasks: readonly ClusterTask[],
  logger: Logger,
  checkEveryMs = Math.min(...tasks.map((task) => task.everyMs), 60_000),
) {
  const byName = new Map(tasks.map((task) => [task.name, task]));
  const queue = new Queue(clusterTasksQueueName, {
    connection: connections.client,
    prefix,
    // The last runs of each kind stay in Redis to look at; a failed one is simply the next interval's to do.
    defaultJobOptions: { removeOnComplete: 100, removeOnFail: 100 },
  });
  queue.on('error', (error) => logger.debug({ err: error }, 'cluster tasks queue error'));

  const ensureSchedulers = async () => {
    for (const task of tasks) {
      const scheduler = await queue.getJobScheduler(task.name);
      if (scheduler?.every === task.everyMs) continue;
      await queue.upsertJobScheduler(task.name, { every: task.everyMs }, { name: task.name });
      logger.debug({ task: task.name, everyMs: task.everyMs }, 'cluster task scheduled');
    }
  };
  let checking: Promise<void> = Promise.resolve();
  const check = () => {
    checking = ensureSchedulers().catch((error: unknown) =>
      logger.warn({ err: error }, 'could not check the cluster task schedulers; will retry'),
    );
  };
  check();
  const timer = setInterval(check, checkEveryMs);
  timer.unref();

  const worker = new Worker(
    clusterTasksQueueName,
    async (job) => {
      const task = byName.get(job.name);
      // A task a newer worker scheduled that this one does not know: leave it to the newer ones.
      if (!task) throw new Error(`unknown cluster task ${job.name}`);
      const started = Date.now();
      await task.run();
      logger.debug({ task: task.name, ms: Date.now() - started }, 'cluster task ran');
    },
    // As many at once as there are tasks, so a long task (a purge of many batches) does not hold up
    // the others here; a task that overruns its interval may meet its next run on another worker,
    // so tasks are written to be safe side by side (the purge's DELETE counts only what it deleted).
    { connection: connections.consumer, prefix, concurrency: tasks.length },
  );
  worker.on('failed', (job, error) =>
    logger.warn({ err: error, task: job?.name }, 'cluster task failed; runs again next interval'),
  );
  worker.on('error', (error) => logger.debug({ err: error }, 'cluster tasks worker error'));

  return {
    queue,
    async close(): Promise<void> {
      clearInterval(timer);
      await checking;
      await worker.close();
      await queue.close();
    },
  };
}
