import { z } from 'zod';
import { decimalInteger, jobId, uuidPattern } from '../http/common-schemas.js';
import { coreHyperparameters, jobStatus } from '../jobs/schemas.js';
import { validationSummary } from '../jobs/metrics-schemas.js';

function distinctIds(ids: readonly string[], context: z.core.$RefinementCtx<string[]>): void {
  const seen = new Set<string>();
  for (const id of ids) {
    const key = id.toLowerCase();
    if (seen.has(key))
      context.addIssue({ code: 'custom', message: `names run ${key} more than once; name 2 to 20 distinct runs` });
    seen.add(key);
  }
}

const ids = z
  .string()
  .meta({ examples: ['5b0c6f1e-3a52-4c1e-9d8f-2f4b7a9e0c13,0e8d2a4c-7b1f-4e6a-8c3d-9f5b1a2e7d40'] })
  .transform((value) =>
    value
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.string().regex(uuidPattern, 'must be a UUID'))
      .min(2, 'name 2 to 20 runs')
      .max(20, 'name 2 to 20 runs')
      .superRefine(distinctIds),
  )
  .describe('2 to 20 distinct job ids, comma-separated');

export const compareQuery = z
  .strictObject({
    ids: ids.optional(),
    sweep: z.string().regex(uuidPattern, 'must be a UUID').optional().describe('A sweep id: compare its best runs'),
    top: decimalInteger(2, 20, '5').default(5).describe('With `sweep`: how many of its best runs'),
    points: decimalInteger(2, 5000).default(200),
  })
  .refine((query) => (query.ids === undefined) !== (query.sweep === undefined), {
    message: 'give either ids or sweep',
    path: ['ids'],
  });

export const chartQuery = z.strictObject({
  ids,
  points: decimalInteger(2, 5000).default(500),
  x: z.enum(['step', 'epoch']).default('step').describe('Align the curves by step or by epoch'),
});

/** The hyperparameters /compare shows, each when it applies (null when a run left it to the server). */
export const hyperparameters = z
  .object({
    dataset: z.string(),
    ...coreHyperparameters,
    trainSamples: z.int().nullable(),
    testSamples: z.int().nullable(),
    seed: z.int().nullable(),
  })
  .partial()
  .meta({ id: 'Hyperparameters' });

const comparedRun = z.object({
  id: jobId,
  label: z.string().describe('The name, with a short id when names repeat'),
  name: z.string().nullable(),
  status: jobStatus,
  architecture: z.string(),
  parameterCount: z.int(),
  hyperparameters: hyperparameters.describe('Only those that differ between the runs'),
  finalTestAccuracy: z.number().nullable(),
  bestTestAccuracy: z.number().nullable(),
  ...validationSummary,
  finalTestLoss: z.number().nullable(),
  epochsCompleted: z.int(),
  trainingMs: z.int().describe("Sum of the epochs' durations"),
  samplesPerSecond: z.number().nullable().describe('Mean over the epochs'),
  backend: z.string().nullable(),
});

export const comparison = z
  .object({
    runs: z.array(comparedRun),
    differingHyperparameters: z.array(z.string()),
    sharedHyperparameters: hyperparameters.describe('Those every run has in common'),
    architecture: z.object({
      runs: z.array(jobId),
      layers: z.array(
        z.object({
          index: z.int(),
          same: z.boolean(),
          byRun: z.array(z.string().nullable()).describe('Per run: "dense 512 relu", "dropout 0.2", or null'),
        }),
      ),
    }),
    curves: z.object({
      points: z.int(),
      runs: z.array(
        z.object({
          id: jobId,
          label: z.string(),
          points: z.array(z.object({ step: z.int(), epochFraction: z.number(), loss: z.number() })),
        }),
      ),
    }),
  })
  .meta({ id: 'Comparison' });
export type Comparison = z.output<typeof comparison>;
