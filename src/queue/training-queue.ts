import { Queue, type ConnectionOptions } from 'bullmq';
import type { Accelerator } from '../domain/spec-vocabulary.js';

/** The queue every CPU worker takes jobs from: its name and the payload each message carries. */
export const trainingQueueName = 'training';
/** The queue GPU workers take jobs from, unless TRAINING_QUEUE_GPU names another. */
export const defaultGpuQueueName = 'training-gpu';

export interface TrainingMessage {
  jobId: string;
}

/** A committed job to queue, and what it asked to train on (any worker when absent). */
export interface QueuedJob {
  id: string;
  accelerator?: Accelerator | undefined;
}

function createQueue(name: string, connection: ConnectionOptions, prefix: string): Queue<TrainingMessage> {
  return new Queue<TrainingMessage>(name, {
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

/** The training queues: one for any worker, one only GPU workers consume. */
export interface TrainingQueues {
  cpu: Queue<TrainingMessage>;
  gpu: Queue<TrainingMessage>;
  /** The queue a job asking for `accelerator` goes to. */
  of: (accelerator: Accelerator | undefined) => Queue<TrainingMessage>;
  close: () => Promise<void>;
}

export function createTrainingQueues(
  connection: ConnectionOptions,
  prefix: string,
  gpuQueueName = defaultGpuQueueName,
): TrainingQueues {
  const cpu = createQueue(trainingQueueName, connection, prefix);
  const gpu = createQueue(gpuQueueName, connection, prefix);
  return {
    cpu,
    gpu,
    of: (accelerator) => (accelerator === 'gpu' ? gpu : cpu),
    close: async () => {
      await Promise.all([cpu.close(), gpu.close()]);
    },
  };
}

/** Queues training of a job already committed in Postgres. The BullMQ id is the job id, so re-queueing is a no-op. */
export async function enqueueTraining(queues: TrainingQueues, job: QueuedJob): Promise<void> {
  await queues.of(job.accelerator).add('train', { jobId: job.id }, { jobId: job.id });
}

/** Queues training of several committed jobs, one round trip to Redis per queue, as `enqueueTraining` does each. */
export async function enqueueTrainingMany(queues: TrainingQueues, jobs: readonly QueuedJob[]): Promise<void> {
  const byQueue = new Map<Queue<TrainingMessage>, string[]>();
  for (const job of jobs) {
    const queue = queues.of(job.accelerator);
    byQueue.set(queue, [...(byQueue.get(queue) ?? []), job.id]);
  }
  await Promise.all(
    [...byQueue].map(([queue, ids]) =>
      queue.addBulk(ids.map((jobId) => ({ name: 'train', data: { jobId }, opts: { jobId } }))),
    ),
  );
}

/** Removes a job's message from whichever queue holds it (a cancel before it started). */
export async function dequeueTraining(queues: TrainingQueues, jobId: string): Promise<void> {
  await Promise.all([queues.cpu.remove(jobId), queues.gpu.remove(jobId)]);
}
