import { z } from 'zod';

/** One epoch's metrics, in job views and event streams alike. */
export const epochMetrics = z
  .object({
    epoch: z.int().describe('1-based'),
    testAccuracy: z.number().describe('Fraction of test examples classified correctly, 0..1'),
    testLoss: z.number(),
    trainLoss: z.number().describe("Mean of the epoch's step losses"),
    durationMs: z.int().describe('Wall time of the epoch: training plus the test pass'),
    samplesPerSecond: z.number().describe('Training examples per second, test pass excluded'),
    validationAccuracy: z
      .number()
      .optional()
      .describe('Fraction of the held-out validation examples classified correctly; only with a validation split'),
    validationLoss: z.number().optional().describe('Mean validation loss; only with a validation split'),
  })
  .meta({ id: 'EpochMetrics' });

/** The loss of one training step. */
export const stepLoss = z
  .object({
    step: z.int().describe('1-based across the whole job'),
    epoch: z.int().describe('1-based'),
    loss: z.number(),
  })
  .meta({ id: 'StepLoss' });

/** Why a job's early-stopping rule ended it, and after which epoch. */
export const stoppedEarly = z
  .object({
    epoch: z.int().describe('The last epoch trained'),
    reason: z.string().meta({
      examples: ['early stopping: validationLoss did not fall for 2 epochs (best 0.3012 at epoch 3)'],
    }),
  })
  .meta({ id: 'StoppedEarly' });

/** The validation figures and model selection shown beside the test ones on a job, a run and a compared run. */
export const validationSummary = {
  finalValidationAccuracy: z.number().nullable().describe('null without a validation split'),
  bestValidationAccuracy: z.number().nullable(),
  bestEpoch: z
    .int()
    .nullable()
    .describe('The epoch with the best validation accuracy (test accuracy without a validation split)'),
  stoppedEarly: stoppedEarly.nullable().describe('Set when the early-stopping rule ended the job'),
  cancelReason: z
    .string()
    .nullable()
    .describe(
      'Why a rule cancelled the job, e.g. "asha: rung at epoch 2, objective 0.81 not in top 1/3 (rank 2 of 3 runs)"',
    ),
  sweep: z
    .object({ id: z.string(), index: z.int().describe("The run's configuration within the sweep, 0-based") })
    .nullable()
    .describe('The sweep this job is a run of'),
};
