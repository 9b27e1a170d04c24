import { z } from 'zod';
import { epochMetricNames, type JobSpec } from '../job-spec.js';
import { text } from '../text.js';
import { retentionSpec } from '../retention.js';

export const sweepLimits = Object.freeze({ parameters: 20, values: 1000, maxRuns: 1000, maxParallel: 64 });

const valuesParameter = z.strictObject({
  // Any JSON value; whether a job takes it is the job-spec schema's call.
  values: z.array(z.unknown()).min(1).max(sweepLimits.values),
});

const distributionParameter = z.strictObject({
  distribution: z.enum(['uniform', 'logUniform', 'intUniform']),
  min: z.number(),
  max: z.number(),
});

export const sweepParameter = z.union([valuesParameter, distributionParameter], {
  error: () =>
    'must be { "values": [...] } or { "distribution": "uniform" | "logUniform" | "intUniform", "min", "max" }',
});

const asha = z.strictObject({
  type: z.literal('asha'),
  minEpochs: z.int().min(1),
  reductionFactor: z.int().min(2).max(16).default(3),
});

const median = z.strictObject({
  type: z.literal('median'),
  minEpochs: z.int().min(1),
});

/** The shape of a sweep spec; `parseSweepSpec` adds the rules that need the job-spec schema. */
export const sweepSpecSchema = z.strictObject({
  name: text().trim().min(1).max(200),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  /** A job spec; validated with the job-spec schema, with every parameter applied. */
  base: z.record(z.string(), z.unknown()),
  parameters: z
    .record(z.string(), sweepParameter)
    .refine((parameters) => Object.keys(parameters).length >= 1, 'give at least one parameter')
    .refine(
      (parameters) => Object.keys(parameters).length <= sweepLimits.parameters,
      `at most ${sweepLimits.parameters} parameters`,
    ),
  method: z.enum(['grid', 'random']),
  maxRuns: z.int().min(1).max(sweepLimits.maxRuns).optional(),
  maxParallel: z.int().min(1).max(sweepLimits.maxParallel).default(2),
  objective: z.strictObject({
    metric: z.enum(epochMetricNames),
    goal: z.enum(['maximize', 'minimize']),
  }),
  earlyTermination: z.discriminatedUnion('type', [asha, median]).optional(),
  /** How long the sweep's runs are kept after they end, unless a run's own spec says. */
  retention: retentionSpec.optional(),
});

export type SweepSpec = z.output<typeof sweepSpecSchema>;
export type SweepSpecInput = z.input<typeof sweepSpecSchema>;
export type SweepParameter = z.output<typeof sweepParameter>;
export type Objective = SweepSpec['objective'];
export type EarlyTermination = NonNullable<SweepSpec['earlyTermination']>;
export type AshaRule = Extract<EarlyTermination, { type: 'asha' }>;
export type MedianRule = Extract<EarlyTermination, { type: 'median' }>;

/** One configuration of a sweep: its position, the value of each parameter, and the job spec it trains. */
export interface SweepConfig {
  /** 0-based, in generation order; unique within the sweep. */
  index: number;
  parameters: Record<string, unknown>;
  spec: JobSpec;
}
