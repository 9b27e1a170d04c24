import { metricValue } from '../early-stopping.js';
import type { EpochMetrics } from '../metrics.js';
import type { Objective, SweepConfig } from './sweep-spec.js';

/** What a sweep's summary needs of one run. */
export interface SweepRun {
  id: string;
  index: number;
  status: string;
  epochs: readonly EpochMetrics[];
  cancelReason: string | null;
}

export interface LeaderboardEntry {
  rank: number;
  jobId: string;
  index: number;
  status: string;
  parameters: Record<string, unknown>;
  /** The run's best objective over its epochs; null before its first epoch. */
  objective: number | null;
  /** The epoch it was reached at. */
  epoch: number | null;
  epochsCompleted: number;
  stoppedReason: string | null;
}

export interface ParameterSpread {
  parameter: string;
  values: { value: unknown; runs: number; mean: number; min: number; max: number }[];
}

const better = (objective: Objective, a: number, b: number) => (objective.goal === 'maximize' ? a > b : a < b);

/** A run's best objective and the epoch of it. */
export function bestObjective(
  objective: Objective,
  epochs: readonly EpochMetrics[],
): { value: number; epoch: number } | null {
  let best: { value: number; epoch: number } | null = null;
  for (const metrics of epochs) {
    const value = metricValue(metrics, objective.metric);
    if (value === undefined || Number.isNaN(value)) continue;
    if (!best || better(objective, value, best.value)) best = { value, epoch: metrics.epoch };
  }
  return best;
}

/** Runs sorted by their best objective (best first; runs without one last, by index). */
export function leaderboard(
  objective: Objective,
  configs: readonly SweepConfig[],
  runs: readonly SweepRun[],
): LeaderboardEntry[] {
  const entries = runs.map((run) => {
    const best = bestObjective(objective, run.epochs);
    return {
      rank: 0,
      jobId: run.id,
      index: run.index,
      status: run.status,
      parameters: configs[run.index]?.parameters ?? {},
      objective: best?.value ?? null,
      epoch: best?.epoch ?? null,
      epochsCompleted: run.epochs.length,
      stoppedReason: run.cancelReason,
    };
  });
  entries.sort((a, b) => {
    if (a.objective === null || b.objective === null)
      return (a.objective === null ? 1 : 0) - (b.objective === null ? 1 : 0) || a.index - b.index;
    return (objective.goal === 'maximize' ? b.objective - a.objective : a.objective - b.objective) || a.index - b.index;
  });
  return entries.map((entry, position) => ({ ...entry, rank: position + 1 }));
}

/** For each parameter, the objective over the runs that had each of its values. */
export function parameterSpread(
  parameters: readonly string[],
  entries: readonly LeaderboardEntry[],
): ParameterSpread[] {
  return parameters.map((parameter) => {
    const groups = new Map<string, { value: unknown; objectives: number[] }>();
    for (const entry of entries) {
      if (entry.objective === null) continue;
      const value = entry.parameters[parameter];
      const key = JSON.stringify(value);
      const group = groups.get(key) ?? { value, objectives: [] };
      group.objectives.push(entry.objective);
      groups.set(key, group);
    }
    const values = [...groups.values()].map(({ value, objectives }) => ({
      value,
      runs: objectives.length,
      mean: objectives.reduce((sum, objective) => sum + objective, 0) / objectives.length,
      min: Math.min(...objectives),
      max: Math.max(...objectives),
    }));
    values.sort((a, b) => (typeof a.value === 'number' && typeof b.value === 'number' ? a.value - b.value : 0));
    return { parameter, values };
  });
}
