import { architectureOf, describeLayer as describeSpecLayer } from '../../domain/architecture.js';
import type { JobSpec, LayerSpec } from '../../domain/job-spec.js';
import type { JobWithEpochs, StepRecord } from '../../store/jobs-repository.js';
import { validationSummaryOf } from '../jobs/validation-summary.js';
import type { Comparison } from './schemas.js';

export type { Comparison };

const hyperparameterNames = [
  'dataset',
  'epochs',
  'learningRate',
  'batchSize',
  'optimizer',
  'trainSamples',
  'testSamples',
  'seed',
] as const;

export function specOf(job: { spec: unknown }): JobSpec {
  return job.spec as JobSpec;
}

export { architectureOf };

function describeLayer(layer: LayerSpec | undefined): string | null {
  return layer ? describeSpecLayer(layer) : null;
}

/** A name for a run in a legend: its name when unique among `jobs`, else name plus short id. */
export function runLabels(jobs: readonly { id: string; name: string | null }[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const job of jobs) counts.set(job.name ?? '', (counts.get(job.name ?? '') ?? 0) + 1);
  return new Map(
    jobs.map((job) => {
      const short = job.id.slice(0, 8);
      const label = job.name ? ((counts.get(job.name) ?? 0) > 1 ? `${job.name} (${short})` : job.name) : short;
      return [job.id, label];
    }),
  );
}

export function stepsPerEpochOf(job: { totalSteps: number; spec: unknown }): number {
  return job.totalSteps / Math.max(1, specOf(job).epochs);
}

export interface CurvePoint {
  step: number;
  epoch: number;
  loss: number;
}

/** A run's (downsampled) loss curve, with x both as step and as epoch fraction. */
export function lossCurve(job: JobWithEpochs, sampled: readonly StepRecord[]) {
  const perEpoch = stepsPerEpochOf(job);
  return sampled.map((step) => ({
    step: step.step,
    epochFraction: step.step / perEpoch,
    loss: step.loss,
  }));
}

/** Everything /compare shows for runs side by side, given each run's history downsampled to about `points`. */
export function compareRuns(
  jobs: readonly JobWithEpochs[],
  sampledHistories: ReadonlyMap<string, readonly StepRecord[]>,
  points: number,
): Comparison {
  const labels = runLabels(jobs);
  const specs = jobs.map(specOf);
  const differing = hyperparameterNames.filter(
    (name) => new Set(specs.map((spec) => JSON.stringify(spec[name] ?? null))).size > 1,
  );
  const shared = Object.fromEntries(
    hyperparameterNames.filter((name) => !differing.includes(name)).map((name) => [name, specs[0]?.[name] ?? null]),
  );
  const depth = Math.max(...specs.map((spec) => spec.model.layers.length));
  const layers = Array.from({ length: depth }, (_, index) => {
    const byRun = specs.map((spec) => describeLayer(spec.model.layers[index]));
    return { index, same: new Set(byRun).size === 1, byRun };
  });

  return {
    runs: jobs.map((job, index) => {
      const spec = specs[index] as JobSpec;
      const trainingMs = job.epochs.reduce((sum, epoch) => sum + epoch.durationMs, 0);
      const speeds = job.epochs.map((epoch) => epoch.samplesPerSecond);
      return {
        id: job.id,
        label: labels.get(job.id) ?? job.id,
        name: job.name,
        status: job.status,
        architecture: architectureOf(spec, job.inputShape),
        parameterCount: job.parameterCount,
        hyperparameters: Object.fromEntries(differing.map((name) => [name, spec[name] ?? null])),
        finalTestAccuracy: job.finalTestAccuracy,
        bestTestAccuracy: job.bestTestAccuracy,
        ...validationSummaryOf(job),
        finalTestLoss: job.finalTestLoss,
        epochsCompleted: job.epochs.length,
        trainingMs,
        samplesPerSecond: speeds.length ? speeds.reduce((sum, speed) => sum + speed, 0) / speeds.length : null,
        backend: job.backend,
      };
    }),
    differingHyperparameters: differing,
    sharedHyperparameters: shared,
    architecture: { runs: jobs.map((job) => job.id), layers },
    curves: {
      points,
      runs: jobs.map((job) => ({
        id: job.id,
        label: labels.get(job.id) ?? job.id,
        points: lossCurve(job, sampledHistories.get(job.id) ?? []),
      })),
    },
  };
}
