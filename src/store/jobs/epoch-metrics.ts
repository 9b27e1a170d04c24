import type { EpochMetrics, StoppedEarly } from '../../domain/metrics.js';
import type { PrismaClient } from '../database.js';
import type { EpochMetric } from '../generated/client.js';

export type EpochRecord = EpochMetrics;

/** Each job's per-epoch test metrics, and the final and best accuracy kept on the job for sorting. */
export interface EpochMetricsRepository {
  /**
   * Stores one epoch's metrics, idempotent per (job, epoch), and on the job its final and best
   * accuracy and its best epoch (by validation accuracy when the job has a validation split).
   */
  recordEpoch: (id: string, metrics: EpochRecord) => Promise<void>;
  /** A job's epoch metrics so far, in order. */
  listEpochs: (id: string) => Promise<EpochMetrics[]>;
  /** Records that the job's early-stopping rule ended it. */
  recordStoppedEarly: (id: string, stoppedEarly: StoppedEarly) => Promise<void>;
}

/** One stored epoch as the domain sees it: the validation metrics only when the job has a split. */
export function toEpochMetrics(row: EpochMetric): EpochMetrics {
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

async function recordEpoch(prisma: PrismaClient, id: string, metrics: EpochRecord): Promise<void> {
  await prisma.$transaction([
    prisma.epochMetric.upsert({
      where: { jobId_epoch: { jobId: id, epoch: metrics.epoch } },
      create: { jobId: id, ...metrics },
      update: metrics,
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
          ORDER BY COALESCE(validation_accuracy, test_accuracy) DESC, epoch ASC LIMIT 1
        ),
        updated_at = now()
      FROM (
        SELECT test_accuracy, test_loss, validation_accuracy, validation_loss FROM epoch_metrics
        WHERE job_id = ${id}::uuid ORDER BY epoch DESC LIMIT 1
      ) AS last
      WHERE id = ${id}::uuid`,
  ]);
}

export function createEpochMetricsRepository(prisma: PrismaClient): EpochMetricsRepository {
  return {
    recordEpoch: (id, metrics) => recordEpoch(prisma, id, metrics),
    listEpochs: async (id) =>
      (await prisma.epochMetric.findMany({ where: { jobId: id }, orderBy: { epoch: 'asc' } })).map(toEpochMetrics),
    recordStoppedEarly: async (id, { epoch, reason }) => {
      await prisma.job.update({
        where: { id },
        data: { stoppedEarlyEpoch: epoch, stoppedEarlyReason: reason },
      });
    },
  };
}
