import type { StepLoss } from '../../domain/metrics.js';
import type { PrismaClient } from '../database.js';

export type StepRecord = StepLoss;

export interface HistoryRange {
  /** Steps after this one (default 0: from the first). */
  after?: number;
  /** Steps up to and including this one (default: the last). */
  through?: number;
  /** Steps per query. */
  pageSize?: number;
}

/** Each job's loss per training step. */
export interface StepHistoryRepository {
  /** Writes a batch of step losses in one round trip; a step written twice keeps its last value. */
  recordSteps: (id: string, steps: readonly StepRecord[]) => Promise<void>;
  /** How many steps a job has recorded, and the last of them (0 when none). */
  historyExtent: (id: string) => Promise<{ count: number; lastStep: number }>;
  /**
   * A job's recorded steps after `after` and up to `through` (by default, the last recorded when
   * called), in order, a page at a time, so a long history is never held whole.
   */
  historyPages: (id: string, range?: HistoryRange) => AsyncGenerator<StepRecord[]>;
}

async function recordSteps(prisma: PrismaClient, id: string, steps: readonly StepRecord[]): Promise<void> {
  const last = steps.at(-1);
  if (last === undefined) return;
  const numbers = steps.map((step) => step.step);
  const epochs = steps.map((step) => step.epoch);
  const losses = steps.map((step) => step.loss);
  await prisma.$executeRaw`
    WITH written AS (
      INSERT INTO step_losses (job_id, step, epoch, loss)
      SELECT ${id}::uuid, s.step, s.epoch, s.loss
      FROM unnest(${numbers}::int[], ${epochs}::int[], ${losses}::float8[]) AS s(step, epoch, loss)
      ON CONFLICT (job_id, step) DO UPDATE SET epoch = EXCLUDED.epoch, loss = EXCLUDED.loss
    )
    UPDATE jobs SET step = GREATEST(step, ${last.step}), epoch = GREATEST(epoch, ${last.epoch}), updated_at = now()
    WHERE id = ${id}::uuid`;
}

async function historyExtent(prisma: PrismaClient, id: string): Promise<{ count: number; lastStep: number }> {
  const { _count, _max } = await prisma.stepLoss.aggregate({
    where: { jobId: id },
    _count: true,
    _max: { step: true },
  });
  return { count: _count, lastStep: _max.step ?? 0 };
}

async function* historyPages(
  prisma: PrismaClient,
  id: string,
  { after = 0, through, pageSize = 5000 }: HistoryRange = {},
): AsyncGenerator<StepRecord[]> {
  const last = through ?? (await historyExtent(prisma, id)).lastStep;
  // Each page is a closed range of step numbers: however stale the table's statistics, the
  // planner then never sorts the rest of a long history to find a page's worth.
  for (let from = after; from < last; from += pageSize) {
    const page = await prisma.stepLoss.findMany({
      where: { jobId: id, step: { gt: from, lte: Math.min(from + pageSize, last) } },
      orderBy: { step: 'asc' },
      select: { step: true, epoch: true, loss: true },
    });
    if (page.length > 0) yield page;
  }
}

export function createStepHistoryRepository(prisma: PrismaClient): StepHistoryRepository {
  return {
    recordSteps: (id, steps) => recordSteps(prisma, id, steps),
    historyExtent: (id) => historyExtent(prisma, id),
    historyPages: (id, range) => historyPages(prisma, id, range),
  };
}
