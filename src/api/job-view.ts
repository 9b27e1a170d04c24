import type { JobWithEpochs } from '../store/jobs-repository.js';

/** The public JSON shape of a job. */
export function jobView(job: JobWithEpochs) {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    dataset: job.dataset,
    spec: job.spec,
    backend: job.backend,
    parameterCount: job.parameterCount,
    attempts: job.attempts,
    progress: {
      epoch: job.epoch,
      step: job.step,
      totalSteps: job.totalSteps,
      fraction: job.totalSteps > 0 ? job.step / job.totalSteps : 0,
    },
    metrics: {
      epochs: job.epochs.map((epoch) => ({
        epoch: epoch.epoch,
        testAccuracy: epoch.testAccuracy,
        testLoss: epoch.testLoss,
        trainLoss: epoch.trainLoss,
        durationMs: epoch.durationMs,
        samplesPerSecond: epoch.samplesPerSecond,
      })),
    },
    error: job.error,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    updatedAt: job.updatedAt.toISOString(),
    links: { self: `/jobs/${job.id}`, history: `/jobs/${job.id}/history` },
  };
}

export type JobView = ReturnType<typeof jobView>;
