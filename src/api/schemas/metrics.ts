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
