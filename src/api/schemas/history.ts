import { z } from 'zod';
import { decimalInteger, jobId } from './common.js';
import { stepLoss } from './metrics.js';

export const historyQuery = z.strictObject({
  points: decimalInteger(2, 1_000_000, '200')
    .optional()
    .describe('Downsample to this many points with Largest-Triangle-Three-Buckets'),
});

/** GET /jobs/:id/history. Streamed a page at a time, so this schema documents it; tests check it. */
export const historyBody = z
  .object({
    jobId,
    downsampling: z.enum(['lttb']).nullable().describe('null when `steps` is the whole history'),
    steps: z.array(stepLoss),
    count: z.int().describe('Steps in this answer'),
    totalSteps: z.int().describe('Steps recorded; more than count when downsampled'),
  })
  .meta({ id: 'History' });
export type HistoryBody = z.output<typeof historyBody>;
