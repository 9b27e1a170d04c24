import { z } from 'zod';
import { evaluationSchema, type Evaluation } from '../../domain/evaluation.js';
import type { EpochMetrics, StoppedEarly } from '../../domain/metrics.js';
import type { PrismaClient } from '../database.js';
import { Prisma, type EpochMetric } from '../generated/client.js';

/** An epoch's metrics, with its evaluation on the test set when training gathered one. */
export type EpochRecord = EpochMetrics & { evaluation?: Evaluation };

/** One epoch's evaluation as the store returns it. */
export interface EpochEvaluation {
  epoch: number;
  testAccuracy: number;
  evaluation: Evaluation;
}

/** Each job's per-epoch test metrics, and the final and best accuracy kept on the job for sorting. */
export interface EpochMetricsRepository {
  /**
   * Stores one epoch's metrics, idempotent per (job, epoch), and on the job its final and best
   * accuracy and its best epoch (by validation accuracy when the job has a validation split; the
   * latest of equal epochs, as the best model is chosen).
   */
  recordEpoch: (id: string, metrics: EpochRecord) => Promise<void>;
  /**
   * The evaluation of a job's epoch `epoch`, by default of its last recorded epoch; null when the
   * job has no such epoch or the epoch was recorded without an evaluation.
   */
  findEvaluation: (id: string, epoch?: number) => Promise<EpochEvaluation | null>;
  /** Each evaluated epoch's per-class accuracy (label order, null for a class absent from the test set). */
  perClassAccuracy: (id: string) => Promise<Map<number, (number | null)[]>>;
  /** A job's epoch metrics so far, in order. */
  listEpochs: (id: string) => Promise<EpochMetrics[]>;
  /** Records that the job's early-stopping rule ended it. */
  recordStoppedEarly: (id: string, stoppedEarly: StoppedEarly) => Promise<void>;
}

/** One stored epoch as the domain sees it: the validation metrics only when the job has a split. */
export function toEpochMetrics(row: Omit<EpochMetric, 'evaluation'>): EpochMetrics {
  return {
    epoch: row.epoch,
    testAccuracy: row.testAccuracy,
    testLoss: row.testLoss,
    trainLoss: row.trainLoss,
    durationMs: row.durationMs,
    samplesPerSecond: row.samplesPerSecond,
    ...(row.validationAccuracy !== null ? { validationAccuracy: row.validationAccuracy } : {}),
    ...(row.validationLoss !== null ? { validationLoss: row.validationLoss } : {}),
  };
}

async function recordEpoch(prisma: PrismaClient, id: string, record: EpochRecord): Promise<void> {
  const { evaluation, ...metrics } = record;
  const evaluationJson = evaluation ? (evaluation satisfies Prisma.InputJsonObject) : Prisma.DbNull;
  const row = { ...metrics, evaluation: evaluationJson };
  await prisma.$transaction([
    prisma.epochMetric.upsert({
      where: { jobId_epoch: { jobId: id, epoch: metrics.epoch } },
      create: { jobId: id, ...row },
      update: row,
    }),
    prisma.$executeRaw`
      UPDATE jobs SET
        final_test_accuracy = last.test_accuracy,
        final_test_loss = last.test_loss,
        final_validation_accuracy = last.validation_accuracy,
        final_validation_loss = last.validation_loss,
        best_test_accuracy = (SELECT max(test_accuracy) FROM epoch_metrics WHERE job_id = ${id}::uuid),
        best_validation_accuracy = (SELECT max(validation_accuracy) FROM epoch_metrics WHERE job_id = ${id}::uuid),
        best_epoch = (
          SELECT epoch FROM epoch_metrics WHERE job_id = ${id}::uuid
          ORDER BY COALESCE(validation_accuracy, test_accuracy) DESC, epoch DESC LIMIT 1
        ),
        updated_at = now()
      FROM (
        SELECT test_accuracy, test_loss, validation_accuracy, validation_loss FROM epoch_metrics
        WHERE job_id = ${id}::uuid ORDER BY epoch DESC LIMIT 1
      ) AS last
      WHERE id = ${id}::uuid`,
  ]);
}

async function findEvaluation(prisma: PrismaClient, id: string, epoch?: number): Promise<EpochEvaluation | null> {
  const row = await prisma.epochMetric.findFirst({
    where: { jobId: id, ...(epoch === undefined ? {} : { epoch }) },
    orderBy: { epoch: 'desc' },
    select: { epoch: true, testAccuracy: true, evaluation: true },
  });
  if (!row || row.evaluation === null) return null;
  return { epoch: row.epoch, testAccuracy: row.testAccuracy, evaluation: evaluationSchema.parse(row.evaluation) };
}

const accuracyRows = z.array(z.object({ epoch: z.number().int(), accuracy: z.array(z.number().nullable()) }));

async function perClassAccuracy(prisma: PrismaClient, id: string): Promise<Map<number, (number | null)[]>> {
  // Only the numbers leave the database, not the whole evaluations.
  const rows = accuracyRows.parse(
    await prisma.$queryRaw`
      SELECT epoch, jsonb_path_query_array(evaluation, '$.classes[*].accuracy') AS accuracy
      FROM epoch_metrics WHERE job_id = ${id}::uuid AND evaluation IS NOT NULL ORDER BY epoch`,
  );
  return new Map(rows.map((row) => [row.epoch, row.accuracy]));
}

export function createEpochMetricsRepository(prisma: PrismaClient): EpochMetricsRepository {
  return {
    recordEpoch: (id, metrics) => recordEpoch(prisma, id, metrics),
    findEvaluation: (id, epoch) => findEvaluation(prisma, id, epoch),
    perClassAccuracy: (id) => perClassAccuracy(prisma, id),
    listEpochs: async (id) =>
      (
        await prisma.epochMetric.findMany({
          where: { jobId: id },
          orderBy: { epoch: 'asc' },
          omit: { evaluation: true },
        })
      ).map(toEpochMetrics),
    recordStoppedEarly: async (id, { epoch, reason }) => {
      await prisma.job.update({
        where: { id },
        data: { stoppedEarlyEpoch: epoch, stoppedEarlyReason: reason },
      });
    },
  };
}
