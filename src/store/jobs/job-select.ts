import { Prisma } from '../generated/client.js';
import { jobStatuses } from './sql.js';
import { specFieldOfText, type EpochMetric, type JobWithEpochs } from './rows.js';
import {
  boolean,
  date,
  integer,
  integerArray,
  nullableDate,
  nullableInteger,
  nullableNumber,
  nullableText,
  number,
  oneOf,
  rowArray,
  text,
  textArray,
  type Row,
} from './row-fields.js';

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
  j.cancel_reason AS "cancelReason", j.notes, j.pinned,
  j.retention_days AS "retentionDays", j.retention_source AS "retentionSource", j.expires_at AS "expiresAt",
  j.max_duration_seconds AS "maxDurationSeconds", j.duration_ms AS "durationMs", j.cancel_requested_at AS "cancelRequestedAt",
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

/** One epoch of the `epochs` JSON: JSON carries the time as text. */
function toEpoch(epoch: Row): EpochMetric {
  return {
    jobId: text(epoch, 'jobId'),
    epoch: integer(epoch, 'epoch'),
    testAccuracy: number(epoch, 'testAccuracy'),
    testLoss: number(epoch, 'testLoss'),
    trainLoss: number(epoch, 'trainLoss'),
    durationMs: integer(epoch, 'durationMs'),
    samplesPerSecond: number(epoch, 'samplesPerSecond'),
    validationAccuracy: nullableNumber(epoch, 'validationAccuracy'),
    validationLoss: nullableNumber(epoch, 'validationLoss'),
    createdAt: new Date(text(epoch, 'createdAt')),
  };
}

/** A row selected with `jobWithEpochsColumns` as a job with its epochs, its spec parsed (through a cache). */
export function toJobWithEpochs(row: Row): JobWithEpochs {
  return {
    id: text(row, 'id'),
    name: nullableText(row, 'name'),
    dataset: text(row, 'dataset'),
    // As text: parsed through a cache (rows.ts), and once, as a job spec rather than as any JSON first.
    ...specFieldOfText(text(row, 'spec')),
    status: oneOf(row, 'status', jobStatuses),
    backend: nullableText(row, 'backend'),
    parameterCount: integer(row, 'parameterCount'),
    epoch: integer(row, 'epoch'),
    step: integer(row, 'step'),
    totalSteps: integer(row, 'totalSteps'),
    inputShape: integerArray(row, 'inputShape'),
    attempts: integer(row, 'attempts'),
    handedBack: integer(row, 'handedBack'),
    leaseExpiresAt: nullableDate(row, 'leaseExpiresAt'),
    leaseOwner: nullableText(row, 'leaseOwner'),
    error: nullableText(row, 'error'),
    tags: textArray(row, 'tags'),
    owner: text(row, 'owner'),
    finalTestAccuracy: nullableNumber(row, 'finalTestAccuracy'),
    bestTestAccuracy: nullableNumber(row, 'bestTestAccuracy'),
    finalTestLoss: nullableNumber(row, 'finalTestLoss'),
    finalValidationAccuracy: nullableNumber(row, 'finalValidationAccuracy'),
    finalValidationLoss: nullableNumber(row, 'finalValidationLoss'),
    bestValidationAccuracy: nullableNumber(row, 'bestValidationAccuracy'),
    bestEpoch: nullableInteger(row, 'bestEpoch'),
    stoppedEarlyEpoch: nullableInteger(row, 'stoppedEarlyEpoch'),
    stoppedEarlyReason: nullableText(row, 'stoppedEarlyReason'),
    sweepId: nullableText(row, 'sweepId'),
    sweepIndex: nullableInteger(row, 'sweepIndex'),
    cancelReason: nullableText(row, 'cancelReason'),
    notes: nullableText(row, 'notes'),
    pinned: boolean(row, 'pinned'),
    retentionDays: nullableInteger(row, 'retentionDays'),
    retentionSource: nullableText(row, 'retentionSource'),
    expiresAt: nullableDate(row, 'expiresAt'),
    maxDurationSeconds: nullableInteger(row, 'maxDurationSeconds'),
    durationMs: nullableInteger(row, 'durationMs'),
    cancelRequestedAt: nullableDate(row, 'cancelRequestedAt'),
    createdAt: date(row, 'createdAt'),
    startedAt: nullableDate(row, 'startedAt'),
    finishedAt: nullableDate(row, 'finishedAt'),
    updatedAt: date(row, 'updatedAt'),
    epochs: rowArray(row, 'epochs').map(toEpoch),
  };
}

/** Rows selected with `jobWithEpochsColumns` as jobs with their epochs, their specs parsed. */
export function toJobsWithEpochs(rows: readonly Row[]): JobWithEpochs[] {
  return rows.map(toJobWithEpochs);
}
