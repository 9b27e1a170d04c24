import { z } from 'zod';
import { Prisma } from '../generated/client.js';
import { jobStatuses } from './sql.js';
import { specFieldOfText, type JobWithEpochs } from './rows.js';

// A job and its epochs in one statement, the epochs as JSON: a job read is one round trip, and a
// page of runs one more, rather than Prisma's query per relation.

// The columns of `jobs` (aliased `j`) as Prisma names them.
const jobColumnList = `
  j.id::text AS "id", j.name, j.dataset, j.spec::text AS "spec", j.status::text AS "status", j.backend,
  j.parameter_count AS "parameterCount", j.epoch, j.step, j.total_steps AS "totalSteps",
  j.input_shape AS "inputShape", j.attempts, j.handed_back AS "handedBack",
  j.lease_expires_at AS "leaseExpiresAt", j.lease_owner::text AS "leaseOwner", j.error, j.tags, j.owner,
  j.final_test_accuracy AS "finalTestAccuracy", j.best_test_accuracy AS "bestTestAccuracy",
  j.final_test_loss AS "finalTestLoss", j.final_validation_accuracy AS "finalValidationAccuracy",
  j.final_validation_loss AS "finalValidationLoss", j.best_validation_accuracy AS "bestValidationAccuracy",
  j.best_epoch AS "bestEpoch", j.stopped_early_epoch AS "stoppedEarlyEpoch",
  j.stopped_early_reason AS "stoppedEarlyReason", j.sweep_id::text AS "sweepId", j.sweep_index AS "sweepIndex",
  j.cancel_reason AS "cancelReason", j.duration_ms AS "durationMs", j.cancel_requested_at AS "cancelRequestedAt",
  j.created_at AS "createdAt", j.started_at AS "startedAt", j.finished_at AS "finishedAt", j.updated_at AS "updatedAt"`;

/** The columns of `jobs` (aliased `j`) as Prisma names them, and the job's epochs in order. */
export const jobWithEpochsColumns = Prisma.raw(`${jobColumnList},
  COALESCE((
    SELECT json_agg(json_build_object(
      'jobId', e.job_id, 'epoch', e.epoch, 'testAccuracy', e.test_accuracy, 'testLoss', e.test_loss,
      'trainLoss', e.train_loss, 'durationMs', e.duration_ms, 'samplesPerSecond', e.samples_per_second,
      'validationAccuracy', e.validation_accuracy, 'validationLoss', e.validation_loss,
      'createdAt', e.created_at) ORDER BY e.epoch)
    FROM epoch_metrics e WHERE e.job_id = j.id), '[]') AS epochs`);

/** As `jobWithEpochsColumns`, for a job known to have no epochs yet (one just inserted): none are read. */
export const newJobColumns = Prisma.raw(`${jobColumnList}, '[]'::json AS epochs`);

const nullableNumber = z.number().nullable();
const nullableInt = z.int().nullable();
const nullableString = z.string().nullable();
const nullableDate = z.date().nullable();

const epochRow = z.object({
  jobId: z.string(),
  epoch: z.int(),
  testAccuracy: z.number(),
  testLoss: z.number(),
  trainLoss: z.number(),
  durationMs: z.int(),
  samplesPerSecond: z.number(),
  validationAccuracy: nullableNumber,
  validationLoss: nullableNumber,
  // JSON carries the time as text.
  createdAt: z.string().transform((text) => new Date(text)),
});

/** A row selected with `jobWithEpochsColumns`, before its spec is parsed. */
export const jobWithEpochsRow = z.object({
  id: z.string(),
  name: nullableString,
  dataset: z.string(),
  // As text: parsed through a cache (rows.ts), and once, as a job spec rather than as any JSON first.
  spec: z.string(),
  status: z.enum(jobStatuses),
  backend: nullableString,
  parameterCount: z.int(),
  epoch: z.int(),
  step: z.int(),
  totalSteps: z.int(),
  inputShape: z.array(z.int()),
  attempts: z.int(),
  handedBack: z.int(),
  leaseExpiresAt: nullableDate,
  leaseOwner: nullableString,
  error: nullableString,
  tags: z.array(z.string()),
  owner: z.string(),
  finalTestAccuracy: nullableNumber,
  bestTestAccuracy: nullableNumber,
  finalTestLoss: nullableNumber,
  finalValidationAccuracy: nullableNumber,
  finalValidationLoss: nullableNumber,
  bestValidationAccuracy: nullableNumber,
  bestEpoch: nullableInt,
  stoppedEarlyEpoch: nullableInt,
  stoppedEarlyReason: nullableString,
  sweepId: nullableString,
  sweepIndex: nullableInt,
  cancelReason: nullableString,
  durationMs: nullableInt,
  cancelRequestedAt: nullableDate,
  createdAt: z.date(),
  startedAt: nullableDate,
  finishedAt: nullableDate,
  updatedAt: z.date(),
  epochs: z.array(epochRow),
});
/** A row selected with `jobWithEpochsColumns`. */
export const jobWithEpochsRows = z.array(jobWithEpochsRow);

/** Rows selected with `jobWithEpochsColumns` as jobs with their epochs, their specs parsed. */
export function toJobsWithEpochs(rows: unknown): JobWithEpochs[] {
  // In place: each row is the schema's own fresh copy, and copying its 38 columns once more
  // (object rest and spread) cost more than all of the parse.
  return jobWithEpochsRows.parse(rows).map((row) => Object.assign(row, specFieldOfText(row.spec)) as JobWithEpochs);
}
