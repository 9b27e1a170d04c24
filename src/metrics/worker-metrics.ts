import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What a worker measures; published to Redis, merged into the API's scrape. */
export function createWorkerMetrics(registry: Registry) {
  return {
    trainingSteps: new Counter({
      name: 'trainer_training_steps_total',
      help: 'Training steps written to Postgres, by backend (rate() gives steps per second)',
      labelNames: ['backend'],
      registers: [registry],
    }),
    trainingSamples: new Counter({
      name: 'trainer_training_samples_total',
      help: "Training examples of the steps written (steps x the job's batch size), by backend",
      labelNames: ['backend'],
      registers: [registry],
    }),
    stepWriteSeconds: new Histogram({
      name: 'trainer_step_write_seconds',
      help: 'Time to write one batch of step losses (one attempt)',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    stepWriteFailures: new Counter({
      name: 'trainer_step_write_failures_total',
      help: 'Attempts to write a batch of step losses that failed; each is retried until STORE_RETRY_MS runs out',
      registers: [registry],
    }),
    queueWaitSeconds: new Histogram({
      name: 'trainer_queue_wait_seconds',
      help: "Time from a job's submission to its first start by a worker",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;

/** Marks this worker and its backend in its published metrics; the API counts workers from these. */
export function announceBackend(registry: Registry, backend: string): void {
  new Gauge({
    name: 'trainer_worker_info',
    help: 'One per live worker, labelled with its training backend',
    labelNames: ['backend'],
    registers: [registry],
  }).set({ backend }, 1);
}

/** What the retention purge removed; counted by the worker that ran each purge. */
export function createRetentionMetrics(registry: Registry) {
  return {
    deletedRuns: new Counter({
      name: 'trainer_retention_deleted_runs_total',
      help: 'Expired runs the retention purge deleted, with everything they held',
      registers: [registry],
    }),
    deletedBytes: new Counter({
      name: 'trainer_retention_deleted_bytes_total',
      help: 'Bytes those runs held in Postgres: loss histories, epoch metrics, models and kept checkpoints',
      registers: [registry],
    }),
  };
}

export type RetentionMetrics = ReturnType<typeof createRetentionMetrics>;
