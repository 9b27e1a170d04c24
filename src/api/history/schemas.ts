import { z } from 'zod';
import { decimalInteger, jobId } from '../http/common-schemas.js';
import { stepLoss } from '../jobs/metrics-schemas.js';

export const historyQuery = z.strictObject({
  points: decimalInteger(2, 1_000_000, '200')
    .optional()
    .describe('Downsample to this many points with Largest-Triangle-Three-Buckets'),
  lineage: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => value === 'true')
    .describe("`true`: a forked run's ancestors' steps up to each fork point, then its own, on one step axis"),
});

/** GET /jobs/:id/history. Streamed a page at a time, so this schema documents it; tests check it. */
export const historyBody = z
  .object({
    jobId,
    downsampling: z.enum(['lttb']).nullable().describe('null when `steps` is the whole history'),
    steps: z.array(stepLoss),
    count: z.int().describe('Steps in this answer'),
    totalSteps: z.int().describe('Steps recorded; more than count when downsampled'),
    lineage: z
      .array(z.object({ jobId, lastStep: z.int() }))
      .optional()
      .describe(
        "With `lineage=true`: the runs the steps come from, oldest first; each run holds the steps after the previous one's `lastStep` through its own",
      ),
  })
  .meta({ id: 'History' });
export type HistoryBody = z.output<typeof historyBody>;
