import type { EpochMetrics } from '../../domain/metrics.js';
import { toEpochMetrics } from '../../store/jobs/epoch-metrics.js';
import { architectureOf } from '../../domain/architecture.js';
import type { JobSpec, RunSpec } from '../../domain/job-spec.js';
import type { ComparedRun } from '../../history/compare.js';
import { runExpiry, runRetention } from '../../domain/retention.js';
import type { JobWithEpochs, ListedRun } from '../../store/jobs-repository.js';
import type { JobView, RunSummary } from './schemas.js';
import { validationSummaryOf } from './validation-summary.js';

export type { JobView, RunSummary };

/** A job's spec as its views show it. */
export function specOf(job: { spec: unknown }): JobSpec {
  return job.spec as JobSpec;
}

/** One epoch's metrics as the API shows them, in job views and event streams alike. */
export function epochMetrics(epoch: JobWithEpochs['epochs'][number]): EpochMetrics {
  return toEpochMetrics(epoch);
}

/** Where a job comes from and which runs were forked from it. */
export type Lineage = Pick<JobView, 'parent' | 'children'>;

/** The public JSON shape of a job; with its lineage where it was read. */
export function jobView(job: JobWithEpochs, lineage: Lineage = {}): JobView {
  return {
    ...lineage,
    id: job.id,
    name: job.name,
    status: job.status,
    dataset: job.dataset,
    spec: specOf(job),
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
      epochs: job.epochs.map(epochMetrics),
    },
    error: job.error,
    tags: job.tags,
    architecture: architectureOf(specOf(job), job.inputShape),
    finalTestAccuracy: job.finalTestAccuracy,
    bestTestAccuracy: job.bestTestAccuracy,
    ...validationSummaryOf(job),
    cancelRequested: job.cancelRequestedAt !== null,
    notes: job.notes,
    pinned: job.pinned,
    retention: runRetention(job.retentionDays, job.retentionSource),
    expiresAt: runExpiry(job.expiresAt, job.pinned)?.toISOString() ?? null,
    maxDurationSeconds: job.maxDurationSeconds ?? job.spec?.maxDurationSeconds ?? null,
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString() ?? null,
    finishedAt: job.finishedAt?.toISOString() ?? null,
    updatedAt: job.updatedAt.toISOString(),
    durationMs: job.durationMs,
    links: {
      self: `/jobs/${job.id}`,
      history: `/jobs/${job.id}/history`,
      events: `/jobs/${job.id}/events`,
      cancel: `/jobs/${job.id}/cancel`,
    },
  };
}

/** One line of GET /jobs: enough to compare runs at a glance. */
export function runSummary(job: ListedRun): RunSummary {
  // As for a whole job (`specOf`): a row whose spec no longer parses is not summarised.
  const spec = job.spec as RunSpec;
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    dataset: job.dataset,
    tags: job.tags,
    architecture: architectureOf(spec, job.inputShape),
    parameterCount: job.parameterCount,
    hyperparameters: {
      epochs: spec.epochs,
      learningRate: spec.learningRate,
      batchSize: spec.batchSize,
      optimizer: spec.optimizer,
    },
    epochsCompleted: job.epochCount,
    finalTestAccuracy: job.finalTestAccuracy,
    bestTestAccuracy: job.bestTestAccuracy,
    ...validationSummaryOf(job),
    finalTestLoss: job.finalTestLoss,
    durationMs: job.durationMs,
    backend: job.backend,
    pinned: job.pinned,
    expiresAt: runExpiry(job.expiresAt, job.pinned),
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
    links: { self: `/jobs/${job.id}` },
  };
}

/** A job as /compare takes it: plain values, with its outcome as its other views show it. */
export function comparedRun(job: JobWithEpochs): ComparedRun<ReturnType<typeof validationSummaryOf>> {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    spec: specOf(job),
    inputShape: job.inputShape,
    parameterCount: job.parameterCount,
    totalSteps: job.totalSteps,
    finalTestAccuracy: job.finalTestAccuracy,
    bestTestAccuracy: job.bestTestAccuracy,
    finalTestLoss: job.finalTestLoss,
    backend: job.backend,
    epochs: job.epochs,
    outcome: validationSummaryOf(job),
  };
}
