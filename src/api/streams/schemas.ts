import { z } from 'zod';
import { decimalInteger, jobId } from '../http/common-schemas.js';
import { jobStatus } from '../jobs/schemas.js';
import { epochMetrics, stepLoss } from '../jobs/metrics-schemas.js';

export const eventsQuery = z.strictObject({
  since: decimalInteger(0, 2 ** 31 - 1, '500')
    .default(0)
    .describe('Replay only steps after this one (0 replays everything)'),
});

const seq = z.int().describe('Grows by one per message on the connection');

export const stepsMessage = z
  .object({ seq, type: z.literal('steps'), jobId, steps: z.array(stepLoss) })
  .meta({ id: 'StepsMessage' });

export const epochMessage = z
  .object({
    seq,
    type: z.literal('epoch'),
    jobId,
    ...epochMetrics.shape,
    perClassAccuracy: z
      .array(z.number().nullable())
      .optional()
      .describe("Each class's test accuracy in label order (null for a class absent from the test set)"),
  })
  .meta({ id: 'EpochMessage' });

export const statusMessage = z
  .object({ seq, type: z.literal('status'), jobId, status: jobStatus, error: z.string().nullable() })
  .meta({ id: 'StatusMessage' });

/** A message of GET /jobs/:id/events: steps (batched), an epoch's metrics, or a status. */
export const jobStreamMessage = z.discriminatedUnion('type', [stepsMessage, epochMessage, statusMessage]);
export type JobStreamMessage = z.output<typeof jobStreamMessage>;

/** A message of GET /events: status and epoch events of every job. */
export const allJobsMessage = z.discriminatedUnion('type', [epochMessage, statusMessage]);
export type AllJobsMessage = z.output<typeof allJobsMessage>;
