import { z } from 'zod';
import { sweepSpecSchema } from '../../domain/sweeps/sweep-spec.js';

import {
  decimalInteger,
  isoTime,
  jobId,
  ownerFilter,
  pageCursor,
  pageOf,
  uuidPattern,
} from '../http/common-schemas.js';
import { exampleSpec, jobStatus } from '../jobs/schemas.js';

export const sweepId = z
  .string()
  .regex(uuidPattern, 'must be a UUID')
  .meta({ description: 'A sweep id (UUID)', examples: ['9a1c7e52-0b3d-4f6a-8e2c-5d7f1b3a9c04'] });

export const sweepIdParams = z.object({ id: sweepId });

// The sweep's runs take their names and tags from the sweep.
const { name: _name, tags: _tags, seed: _seed, ...exampleBase } = exampleSpec;

/** The example body of POST /sweeps: the demo's sweep, smaller. */
const exampleSweep = {
  name: 'lr-batch-width',
  seed: 1,
  base: {
    ...exampleBase,
    trainSamples: 10000,
    testSamples: 2000,
    validationFraction: 0.1,
    epochs: 4,
    learningRate: 0.1,
  },
  parameters: {
    learningRate: { distribution: 'logUniform', min: 0.001, max: 1 },
    batchSize: { values: [32, 128] },
    'model.layers[0].units': { values: [128, 512] },
  },
  method: 'random',
  maxRuns: 16,
  maxParallel: 2,
  objective: { metric: 'validationAccuracy', goal: 'maximize' },
  earlyTermination: { type: 'asha', minEpochs: 1, reductionFactor: 2 },
};

/** The body of POST /sweeps. The sweeps service validates it (with the job-spec schema for every run). */
export const sweepSpecBody = sweepSpecSchema.meta({
  description:
    'A sweep: a base job spec, parameters by their path in the spec (`model.layers[0].units`), each a list of values or a distribution, and how runs are chosen, compared and stopped early',
  examples: [exampleSweep],
});

const runStatusCounts = z
  .object({
    pending: z.int().describe('Not launched yet'),
    queued: z.int(),
    running: z.int(),
    completed: z.int(),
    failed: z.int(),
    cancelled: z.int(),
  })
  .meta({ id: 'SweepRunCounts' });

const leaderboardEntry = z
  .object({
    rank: z.int().describe('1 is best'),
    jobId,
    index: z.int().describe("The run's configuration, 0-based, in generation order"),
    status: jobStatus,
    parameters: z.record(z.string(), z.unknown()).describe('The value of each swept parameter, by its path'),
    objective: z.number().nullable().describe("The run's best objective over its epochs"),
    epoch: z.int().nullable().describe('The epoch that objective was reached at'),
    epochsCompleted: z.int(),
    stoppedReason: z.string().nullable().describe('Why early termination (or a sweep cancel) stopped the run'),
  })
  .meta({ id: 'SweepLeaderboardEntry' });

const parameterSpread = z
  .object({
    parameter: z.string(),
    values: z.array(
      z.object({ value: z.unknown(), runs: z.int(), mean: z.number(), min: z.number(), max: z.number() }),
    ),
  })
  .meta({ id: 'SweepParameterSpread' });

export const sweepSummary = z
  .object({
    id: sweepId,
    name: z.string(),
    owner: z.string().describe('The owner of the key that created it; its runs are this owner’s jobs'),
    status: z.enum(['running', 'completed', 'cancelled']),
    method: z.enum(['grid', 'random']),
    objective: sweepSpecSchema.shape.objective,
    runCount: z.int().describe('Configurations the sweep has'),
    counts: runStatusCounts,
    best: leaderboardEntry.nullable(),
    createdAt: isoTime,
    finishedAt: isoTime.nullable(),
    links: z.object({ self: z.string(), events: z.string(), compare: z.string(), cancel: z.string() }),
  })
  .meta({ id: 'SweepSummary' });

export const sweepView = sweepSummary
  .extend({
    spec: z.record(z.string(), z.unknown()).describe('The sweep spec as submitted, defaults filled in'),
    leaderboard: z.array(leaderboardEntry).describe('Launched runs, best objective first'),
    parameterSpread: z.array(parameterSpread).describe('For each parameter, the objective over the runs of each value'),
    epochs: z
      .object({
        trained: z.int().describe('Epochs the runs trained'),
        planned: z.int().describe('Epochs every configuration would train if each ran to the end'),
      })
      .describe('What early termination saved: 1 - trained / planned'),
  })
  .meta({ id: 'Sweep' });
export type SweepView = z.output<typeof sweepView>;
export type SweepSummary = z.output<typeof sweepSummary>;

export const sweepList = pageOf('sweeps', sweepSummary, 'SweepList');

export const sweepListQuery = z.strictObject({
  owner: ownerFilter('sweeps'),
  limit: decimalInteger(1, 100, '10').default(100).describe('Sweeps per page, newest first'),
  cursor: pageCursor(),
});

/** A message of WS /sweeps/:id/events. */
export const sweepEventMessage = z
  .object({
    seq: z.int(),
    type: z.enum(['run-started', 'run-finished', 'run-stopped', 'new-best', 'sweep-finished']),
    sweepId,
    jobId: jobId.optional(),
    index: z.int().optional(),
    status: z.string().optional(),
    reason: z.string().nullable().optional(),
    objective: z.number().nullable().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'SweepEvent' });
export type SweepEventMessage = z.output<typeof sweepEventMessage>;
