import { architectureOf, describeLayer } from '../domain/architecture.js';
import type { JobSpec } from '../domain/job-spec.js';
import type { EpochMetrics, StepLoss } from '../domain/metrics.js';
import type { JobStatus } from '../domain/run-vocabulary.js';

// Runs side by side (/compare and its chart): which hyperparameters and layers differ, what each run
// came to, and the loss curves aligned by step and by epoch. Plain values in, plain values out: the
// API reads the runs and their sampled histories, and shapes nothing here.

/** The hyperparameters a comparison looks at, in the order it lists them. */
export const comparedHyperparameters = [
  'dataset',
  'epochs',
  'learningRate',
  'batchSize',
  'optimizer',
  'trainSamples',
  'testSamples',
  'seed',
] as const;
export type ComparedHyperparameter = (typeof comparedHyperparameters)[number];

/**
 * One run to compare. `outcome` (its validation figures, early stop, and the like, as the run's
 * other summaries show them) is passed through into the run's line as it is.
 */
export interface ComparedRun<Outcome extends object = object> {
  id: string;
  name: string | null;
  status: JobStatus;
  spec: JobSpec;
  /** The dataset's input shape when the run was submitted (empty: a bundled dataset's own). */
  inputShape: readonly number[];
  parameterCount: number;
  totalSteps: number;
  finalTestAccuracy: number | null;
  bestTestAccuracy: number | null;
  finalTestLoss: number | null;
  backend: string | null;
  epochs: readonly Pick<EpochMetrics, 'durationMs' | 'samplesPerSecond'>[];
  outcome: Outcome;
}

/** A name for a run in a legend: its name when unique among `runs`, else name plus short id. */
export function runLabels(runs: readonly { id: string; name: string | null }[]): Map<string, string> {
  const counts = new Map<string, number>();
  for (const run of runs) counts.set(run.name ?? '', (counts.get(run.name ?? '') ?? 0) + 1);
  return new Map(
    runs.map((run) => {
      const short = run.id.slice(0, 8);
      const label = run.name ? ((counts.get(run.name) ?? 0) > 1 ? `${run.name} (${short})` : run.name) : short;
      return [run.id, label];
    }),
  );
}

/** Steps in one epoch of a run of `totalSteps` over `epochs` epochs: what turns a step into an epoch fraction. */
export function stepsPerEpoch(totalSteps: number, epochs: number): number {
  return totalSteps / Math.max(1, epochs);
}

/** A run's (downsampled) loss curve, with x both as step and as epoch fraction. */
export function lossCurve(run: Pick<ComparedRun, 'totalSteps' | 'spec'>, sampled: readonly StepLoss[]) {
  const perEpoch = stepsPerEpoch(run.totalSteps, run.spec.epochs);
  return sampled.map((step) => ({
    step: step.step,
    epochFraction: step.step / perEpoch,
    loss: step.loss,
  }));
}

/** The hyperparameters on which `specs` do not all agree, and the values of those they share. */
export function hyperparameterDiff(specs: readonly JobSpec[]) {
  const differing = comparedHyperparameters.filter(
    (name) => new Set(specs.map((spec) => JSON.stringify(spec[name] ?? null))).size > 1,
  );
  const shared = Object.fromEntries(
    comparedHyperparameters.filter((name) => !differing.includes(name)).map((name) => [name, specs[0]?.[name] ?? null]),
  );
  return { differing, shared };
}

/** The layers of `specs` side by side, position by position: how each describes it (null past its end), and whether all agree. */
export function layerDiff(specs: readonly JobSpec[]) {
  const depth = Math.max(...specs.map((spec) => spec.model.layers.length));
  return Array.from({ length: depth }, (_, index) => {
    const byRun = specs.map((spec) => {
      const layer = spec.model.layers[index];
      return layer ? describeLayer(layer) : null;
    });
    return { index, same: new Set(byRun).size === 1, byRun };
  });
}

/** What one run came to, with the hyperparameters among `differing` it has. */
function runLine<Outcome extends object>(
  run: ComparedRun<Outcome>,
  label: string,
  differing: readonly ComparedHyperparameter[],
) {
  const trainingMs = run.epochs.reduce((sum, epoch) => sum + epoch.durationMs, 0);
  const speeds = run.epochs.map((epoch) => epoch.samplesPerSecond);
  return {
    id: run.id,
    label,
    name: run.name,
    status: run.status,
    architecture: architectureOf(run.spec, run.inputShape),
    parameterCount: run.parameterCount,
    hyperparameters: Object.fromEntries(differing.map((name) => [name, run.spec[name] ?? null])),
    finalTestAccuracy: run.finalTestAccuracy,
    bestTestAccuracy: run.bestTestAccuracy,
    ...run.outcome,
    finalTestLoss: run.finalTestLoss,
    epochsCompleted: run.epochs.length,
    trainingMs,
    samplesPerSecond: speeds.length ? speeds.reduce((sum, speed) => sum + speed, 0) / speeds.length : null,
    backend: run.backend,
  };
}

/** Everything /compare shows for runs side by side, given each run's history downsampled to about `points`. */
export function compareRuns<Outcome extends object>(
  runs: readonly ComparedRun<Outcome>[],
  sampledHistories: ReadonlyMap<string, readonly StepLoss[]>,
  points: number,
) {
  const labels = runLabels(runs);
  const specs = runs.map((run) => run.spec);
  const { differing, shared } = hyperparameterDiff(specs);
  return {
    runs: runs.map((run) => runLine(run, labels.get(run.id) ?? run.id, differing)),
    differingHyperparameters: differing,
    sharedHyperparameters: shared,
    architecture: { runs: runs.map((run) => run.id), layers: layerDiff(specs) },
    curves: {
      points,
      runs: runs.map((run) => ({
        id: run.id,
        label: labels.get(run.id) ?? run.id,
        points: lossCurve(run, sampledHistories.get(run.id) ?? []),
      })),
    },
  };
}
