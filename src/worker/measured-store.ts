import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { JobsRepository } from '../store/jobs-repository.js';

type Measured = Pick<JobsRepository, 'claim' | 'recordSteps' | 'finish' | 'handBack'>;

/**
 * The store as a worker uses it, measuring as it goes: time from submission to first start (at
 * claim), each step-write attempt's latency and failures, and the steps and examples trained (as
 * they are written). Wraps the raw repository, under the runner's retries, so every attempt counts.
 */
export function measuredStore<T extends Measured>(jobs: T, metrics: WorkerMetrics, backend: string): T {
  // Batch size of each job this worker claimed, to count examples from steps.
  const batchSizes = new Map<string, number>();
  const forget = (id: string) => batchSizes.delete(id);
  return {
    ...jobs,
    claim: async (id, jobBackend, leaseMs, owner) => {
      const result = await jobs.claim(id, jobBackend, leaseMs, owner);
      if (result.outcome === 'claimed') {
        const { job } = result;
        if (job.spec) batchSizes.set(id, job.spec.batchSize);
        // Both times come from Postgres's clock; only a job's first start is a wait in the queue.
        if (job.attempts === 1 && job.startedAt)
          metrics.queueWaitSeconds.observe((job.startedAt.getTime() - job.createdAt.getTime()) / 1000);
      }
      return result;
    },
    recordSteps: async (id, steps) => {
      const stopTimer = metrics.stepWriteSeconds.startTimer();
      try {
        await jobs.recordSteps(id, steps);
      } catch (error) {
        metrics.stepWriteFailures.inc();
        throw error;
      } finally {
        stopTimer();
      }
      metrics.trainingSteps.inc({ backend }, steps.length);
      metrics.trainingSamples.inc({ backend }, steps.length * (batchSizes.get(id) ?? 0));
    },
    finish: async (id, status, error, owner) => {
      forget(id);
      return jobs.finish(id, status, error, owner);
    },
    handBack: async (id, owner, options) => {
      forget(id);
      return jobs.handBack(id, owner, options);
    },
  };
}
