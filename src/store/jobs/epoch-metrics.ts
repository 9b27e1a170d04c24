import type { EpochMetrics } from '../../domain/metrics.js';
import type { PrismaClient } from '../database.js';

export type EpochRecord = EpochMetrics;

/** Each job's per-epoch test metrics, and the final and best accuracy kept on the job for sorting. */
export interface EpochMetricsRepository {
  /** Stores one epoch's metrics, idempotent per (job, epoch), and the job's final and best accuracy. */
  recordEpoch: (id: string, metrics: EpochRecord) => Promise<void>;
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
        best_test_accuracy = (SELECT max(test_accuracy) FROM epoch_metrics WHERE job_id = ${id}::uuid),
        updated_at = now()
      FROM (SELECT test_accuracy, test_loss FROM epoch_metrics WHERE job_id = ${id}::uuid ORDER BY epoch DESC LIMIT 1) AS last
      WHERE id = ${id}::uuid`,
  ]);
}

export function createEpochMetricsRepository(prisma: PrismaClient): EpochMetricsRepository {
  return { recordEpoch: (id, metrics) => recordEpoch(prisma, id, metrics) };
}
