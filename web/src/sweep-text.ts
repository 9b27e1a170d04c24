import type { Sweep, SweepSpecInput } from '@trainer/client';

export type Objective = Sweep['objective'];

/** A swept parameter as the spec gives it: a list of values or a distribution. */
export type SweepParameter = SweepSpecInput['parameters'][string];

/** A value of a parameter as text: numbers kept short, everything else as JSON. */
export function parameterText(value: unknown): string {
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : Number(value.toPrecision(4)).toString();
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? '–';
}

/** The objective as text: a percentage for accuracies, 4 decimals otherwise. */
export function objectiveText(objective: Objective, value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return /accuracy/i.test(objective.metric) ? `${(value * 100).toFixed(2)}%` : value.toFixed(4);
}

export const objectiveLabel = (objective: Objective) =>
  `${objective.metric} (${objective.goal === 'maximize' ? 'higher' : 'lower'} is better)`;

/**
 * The swept parameters of a sweep's spec with their definitions. The API documents the stored spec
 * only as an object (it is the spec as submitted, defaults filled in), so its `parameters` are checked
 * to be an object here.
 */
export function specParameters(sweep: Pick<Sweep, 'spec'>): [string, SweepParameter][] {
  const { parameters } = sweep.spec;
  if (typeof parameters !== 'object' || parameters === null) return [];
  return Object.entries(parameters as SweepSpecInput['parameters']);
}
