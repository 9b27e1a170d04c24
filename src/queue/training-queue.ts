import { Queue, type ConnectionOptions } from 'bullmq';

/** The one queue: its name and the payload each message carries. */
export const trainingQueueName = 'training';

export interface TrainingMessage {
  jobId: string;
}

export function createTrainingQueue(connection: ConnectionOptions, prefix: string): Queue<TrainingMessage> {
  return new Queue<TrainingMessage>(trainingQueueName, {
    connection,
    prefix,
    defaultJobOptions: {
      // Postgres keeps the record; Redis only needs a message until a worker has taken it.
      removeOnComplete: true,
      removeOnFail: 1000,
      // A processor throws only when Postgres cannot be reached: keep trying for about ten minutes.
      attempts: 120,
      backoff: { type: 'fixed', delay: 5000 },
    },
  });
}

/** Queues training of a job already committed in Postgres. The BullMQ id is the job id, so re-queueing is a no-op. */
export async function enqueueTraining(queue: Queue<TrainingMessage>, jobId: string): Promise<void> {
  await queue.add('train', { jobId }, { jobId });
}

/** Queues training of several committed jobs in one round trip to Redis, as `enqueueTraining` does each. */
export async function enqueueTrainingMany(queue: Queue<TrainingMessage>, jobIds: readonly string[]): Promise<void> {
  await queue.addBulk(jobIds.map((jobId) => ({ name: 'train', data: { jobId }, opts: { jobId } })));
}
