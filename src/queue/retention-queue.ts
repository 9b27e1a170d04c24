import { Queue, type ConnectionOptions } from 'bullmq';

/** The queue of the retention purge: one scheduler puts one purge on it per interval, cluster-wide. */
export const retentionQueueName = 'retention';

/** The scheduler's id: every worker upserts the same one, so there is one however many workers start. */
export const retentionSchedulerId = 'retention-purge';

export function createRetentionQueue(connection: ConnectionOptions, prefix: string): Queue {
  return new Queue(retentionQueueName, {
    connection,
    prefix,
    // A purge that failed (Postgres unreachable) is simply the next interval's to do.
    defaultJobOptions: { removeOnComplete: 100, removeOnFail: 100 },
  });
}

/**
 * Registers the purge every `intervalMs`. BullMQ keeps one scheduler per id in Redis and produces each
 * iteration's job once, so every worker may call this at start: the last call's interval wins.
 */
export async function scheduleRetentionPurge(queue: Queue, intervalMs: number): Promise<void> {
  await queue.upsertJobScheduler(retentionSchedulerId, { every: intervalMs }, { name: 'purge' });
}
