import { Random } from '../random.js';
import type { SweepParameter, SweepSpec } from './sweep-spec.js';

/** A parameter's value per configuration, before they are applied to the base spec. */
export type ParameterValues = Record<string, unknown>;

/** The number of configurations a grid sweep has: the product of its value counts. */
export function gridSize(parameters: SweepSpec['parameters']): number {
  return Object.values(parameters).reduce(
    (size, parameter) => size * ('values' in parameter ? parameter.values.length : 1),
    1,
  );
}

/** Every combination of the parameters' values, the first parameter varying slowest. */
export function gridValues(parameters: SweepSpec['parameters']): ParameterValues[] {
  let combinations: ParameterValues[] = [{}];
  for (const [path, parameter] of Object.entries(parameters)) {
    const values = 'values' in parameter ? parameter.values : [];
    combinations = combinations.flatMap((combination) => values.map((value) => ({ ...combination, [path]: value })));
  }
  return combinations;
}

// Six significant digits keep learning rates readable without moving them noticeably.
const tidy = (value: number, min: number, max: number) => Math.min(max, Math.max(min, Number(value.toPrecision(6))));

/** One draw of `parameter` from `random`. */
export function sample(parameter: SweepParameter, random: Random): unknown {
  const draw = random.next();
  if ('values' in parameter) return parameter.values[Math.floor(draw * parameter.values.length)];
  const { min, max } = parameter;
  switch (parameter.distribution) {
    case 'uniform':
      return tidy(min + draw * (max - min), min, max);
    case 'logUniform':
      return tidy(Math.exp(Math.log(min) + draw * (Math.log(max) - Math.log(min))), min, max);
    case 'intUniform':
      return min + Math.floor(draw * (max - min + 1));
  }
}

/** `count` random configurations from the sweep's seed: the same seed gives the same values in the same order. */
export function randomValues(parameters: SweepSpec['parameters'], count: number, seed: number): ParameterValues[] {
  const random = new Random(seed);
  return Array.from({ length: count }, () =>
    Object.fromEntries(Object.entries(parameters).map(([path, parameter]) => [path, sample(parameter, random)])),
  );
}
