import type { SweepLeaderboardEntry as LeaderboardEntry } from '@trainer/client';
import { objectiveText, parameterText, type Objective, type SweepParameter } from './sweep-text';

// The axes of a parallel-coordinates chart of a sweep: one per swept parameter, then the objective.
// Each axis maps its values onto 0..1 (bottom to top): logarithmically for log-uniform parameters and
// for number lists spanning orders of magnitude, linearly for other numbers, evenly for categories.

export interface Tick {
  /** 0..1 along the axis. */
  at: number;
  text: string;
}

export interface Axis {
  label: string;
  scale: 'linear' | 'log' | 'category';
  /** 0..1, or null for a value the axis cannot place. */
  position(value: unknown): number | null;
  ticks: Tick[];
}

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

function numericAxis(label: string, scale: 'linear' | 'log', low: number, high: number, text: (v: number) => string) {
  const f = scale === 'log' ? Math.log10 : (value: number) => value;
  const [a, b] = [f(low), f(high)];
  const position = (value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || (scale === 'log' && value <= 0)) return null;
    return b === a ? 0.5 : clamp01((f(value) - a) / (b - a));
  };
  const values = low === high ? [low] : [low, scale === 'log' ? Math.sqrt(low * high) : (low + high) / 2, high];
  return { label, scale, position, ticks: values.map((value) => ({ at: position(value) ?? 0.5, text: text(value) })) };
}

function categoryAxis(label: string, categories: unknown[]): Axis {
  const keys = [...new Set(categories.map((value) => JSON.stringify(value)))];
  const at = (index: number) => (keys.length === 1 ? 0.5 : index / (keys.length - 1));
  // At most 8 labels, evenly picked, so a long list stays readable.
  const step = Math.max(1, Math.ceil(keys.length / 8));
  return {
    label,
    scale: 'category',
    position: (value) => {
      const index = keys.indexOf(JSON.stringify(value));
      return index < 0 ? null : at(index);
    },
    ticks: keys.flatMap((key, index) =>
      index % step === 0 || index === keys.length - 1
        ? [{ at: at(index), text: parameterText(JSON.parse(key) as unknown) }]
        : [],
    ),
  };
}

/** Numbers spanning an order of magnitude or more (all positive) read better on a log axis. */
const spansDecades = (numbers: number[]) =>
  Math.min(...numbers) > 0 && Math.max(...numbers) / Math.min(...numbers) >= 10;

/** A tick's number, to 3 significant digits. */
const tickText = (value: number) => (Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3))));

/** The axis of one parameter, from its definition in the spec and the values the runs had. */
export function parameterAxis(label: string, parameter: SweepParameter | undefined, seen: unknown[]): Axis {
  if (parameter && 'distribution' in parameter) {
    const numbers = [
      parameter.min,
      parameter.max,
      ...seen.filter((value): value is number => typeof value === 'number'),
    ];
    const scale = parameter.distribution === 'logUniform' ? 'log' : 'linear';
    return numericAxis(label, scale, Math.min(...numbers), Math.max(...numbers), tickText);
  }
  const values = parameter ? [...parameter.values, ...seen] : seen;
  if (values.length > 0 && values.every((value) => typeof value === 'number' && Number.isFinite(value))) {
    const numbers = values as number[];
    const scale = spansDecades(numbers) ? 'log' : 'linear';
    return numericAxis(label, scale, Math.min(...numbers), Math.max(...numbers), tickText);
  }
  return categoryAxis(label, values);
}

/** The objective's axis over the values reached so far. */
export function objectiveAxis(objective: Objective, runs: readonly LeaderboardEntry[]): Axis {
  const values = runs.flatMap((run) => (run.objective === null ? [] : [run.objective]));
  const [low, high] = values.length === 0 ? [0, 1] : [Math.min(...values), Math.max(...values)];
  return numericAxis(objective.metric, 'linear', low, high, (value) => objectiveText(objective, value));
}

/** 0 for the worst objective reached so far, 1 for the best; null for a run without one. */
export function goodness(
  objective: Objective,
  runs: readonly LeaderboardEntry[],
): (run: LeaderboardEntry) => number | null {
  const values = runs.flatMap((run) => (run.objective === null ? [] : [run.objective]));
  const [low, high] = [Math.min(...values), Math.max(...values)];
  return (run) => {
    if (run.objective === null) return null;
    if (high === low) return 1;
    const up = (run.objective - low) / (high - low);
    return objective.goal === 'maximize' ? up : 1 - up;
  };
}

/** A colour from pale blue (worst) through purple to deep orange-red (best). */
export function goodnessColour(value: number | null): string {
  if (value === null) return 'rgba(120,128,140,0.45)';
  const hue = (215 + value * 160) % 360;
  const lightness = 62 - value * 17;
  return `hsl(${hue.toFixed(0)} 70% ${lightness.toFixed(0)}%)`;
}
