import { z } from 'zod';
import type { StepLoss } from '../../domain/metrics.js';
import type { PrismaClient } from '../database.js';
import { chunkSteps, latestPerStep, maxChunkSteps, mergeSteps, sameChunk, type StepChunk } from './step-chunks.js';

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
  /** Writes a batch of step losses in one transaction; a step written twice keeps its last value. */
  recordSteps: (id: string, steps: readonly StepRecord[]) => Promise<void>;
  /** How many steps a job has recorded, and the last of them (0 when none). */
  historyExtent: (id: string) => Promise<{ count: number; lastStep: number }>;
  /**
   * A job's recorded steps after `after` and up to `through` (by default, the last recorded when
   * called), in order, a page at a time, so a long history is never held whole.
   */
  historyPages: (id: string, range?: HistoryRange) => AsyncGenerator<StepRecord[]>;
}

const storedChunks = z.array(
  z.object({
    firstStep: z.number().int(),
    epoch: z.number().int(),
    // Losses as float8's text form (exact), comma-separated: split and Number() read them several
    // times faster than the driver's parser of arrays.
    losses: z.string().transform((text) => text.split(',').map(Number)),
    narrow: z.boolean(),
    version: z.string(),
  }),
);
type StoredChunk = StepChunk & { version: string };

/**
 * The chunks holding any step from `from` through `to`, in step order. Chunks never overlap and
 * hold at most `maxChunkSteps` steps, so only the ones starting after `from - maxChunkSteps` can.
 * `version` (the row's xmin) changes whenever the row is written.
 */
async function chunksOverlapping(prisma: PrismaClient, id: string, from: number, to: number): Promise<StoredChunk[]> {
  return storedChunks.parse(
    await prisma.$queryRaw`
      SELECT first_step AS "firstStep", epoch, array_to_string(COALESCE(losses_f64, losses_f32::float8[]), ',') AS losses,
        losses_f32 IS NOT NULL AS narrow, xmin::text AS version
      FROM step_chunks
      WHERE job_id = ${id}::uuid AND first_step > ${from - maxChunkSteps} AND first_step <= ${to}
        AND first_step + step_count > ${from}
      ORDER BY first_step`,
  );
}

const chunkKey = (chunk: StoredChunk) => `${chunk.firstStep}@${chunk.version}`;

/**
 * Writes `steps` over what is stored: the chunks they overlap or extend are read, merged with them
 * and written back, only where they changed. Every writer of a job's steps locks the job's row
 * first; the merge was computed before that lock, so it is written only if the chunks it read are
 * still as they were (by row version), and computed again if not. Resolves to whether it was written.
 */
async function writeMerged(prisma: PrismaClient, id: string, steps: readonly StepRecord[], last: StepRecord) {
  const first = (steps[0] as StepRecord).step;
  const end = (steps.at(-1) as StepRecord).step;
  // Neighbours on both sides, so a batch that continues a chunk fills it up.
  const stored = await chunksOverlapping(prisma, id, first - 1, end + 1);
  const next = chunkSteps(mergeSteps(stored, steps));
  const changed = next.filter((chunk) => !stored.some((old) => sameChunk(old, chunk)));
  const removed = stored.filter((old) => !next.some((chunk) => chunk.firstStep === old.firstStep));
  const offsets = changed.reduce<number[]>(
    (all, chunk, index) => [...all, (all[index] ?? 0) + chunk.losses.length],
    [0],
  );
  const [, [outcome]] = await prisma.$transaction([
    prisma.$executeRaw`
      UPDATE jobs SET step = GREATEST(step, ${last.step}), epoch = GREATEST(epoch, ${last.epoch}), updated_at = now()
      WHERE id = ${id}::uuid`,
    prisma.$queryRaw<{ written: boolean }[]>`
      WITH unchanged AS (
        SELECT COALESCE(array_agg(first_step || '@' || xmin::text ORDER BY first_step), '{}') = ${stored.map(chunkKey)}::text[] AS yes
        FROM step_chunks
        WHERE job_id = ${id}::uuid AND first_step > ${first - 1 - maxChunkSteps} AND first_step <= ${end + 1}
          AND first_step + step_count > ${first - 1}
      ), removed AS (
        DELETE FROM step_chunks USING unchanged
        WHERE unchanged.yes AND job_id = ${id}::uuid AND first_step = ANY(${removed.map((chunk) => chunk.firstStep)}::int[])
      ), written AS (
        INSERT INTO step_chunks (job_id, first_step, epoch, losses_f32, losses_f64)
        SELECT ${id}::uuid, c.first_step, c.epoch,
          CASE WHEN c.narrow THEN (${changed.flatMap((chunk) => chunk.losses)}::float8[])[c.start + 1 : c.stop]::real[] END,
          CASE WHEN NOT c.narrow THEN (${changed.flatMap((chunk) => chunk.losses)}::float8[])[c.start + 1 : c.stop] END
        FROM unnest(${changed.map((chunk) => chunk.firstStep)}::int[], ${changed.map((chunk) => chunk.epoch)}::int[],
          ${changed.map((chunk) => chunk.narrow)}::boolean[], ${offsets.slice(0, -1)}::int[], ${offsets.slice(1)}::int[])
          AS c(first_step, epoch, narrow, start, stop)
        CROSS JOIN unchanged WHERE unchanged.yes
        ON CONFLICT (job_id, first_step) DO UPDATE
          SET epoch = EXCLUDED.epoch, losses_f32 = EXCLUDED.losses_f32, losses_f64 = EXCLUDED.losses_f64
      )
      SELECT yes AS written FROM unchanged`,
  ]);
  return outcome?.written === true;
}

async function recordSteps(prisma: PrismaClient, id: string, steps: readonly StepRecord[]): Promise<void> {
  const last = steps.at(-1);
  if (last === undefined) return;
  const ordered = latestPerStep(steps);
  // Another write of the same job's steps in between (a worker that lost its lease and has not
  // noticed yet) is the only reason to go round again.
  while (!(await writeMerged(prisma, id, ordered, last)));
}

const extentRow = z.array(z.object({ count: z.number().int(), lastStep: z.number().int() })).length(1);

async function historyExtent(prisma: PrismaClient, id: string): Promise<{ count: number; lastStep: number }> {
  const [extent] = extentRow.parse(
    await prisma.$queryRaw`
      SELECT COALESCE(sum(step_count), 0)::int AS count, COALESCE(max(first_step + step_count - 1), 0)::int AS "lastStep"
      FROM step_chunks WHERE job_id = ${id}::uuid`,
  );
  return extent as { count: number; lastStep: number };
}

async function* historyPages(
  prisma: PrismaClient,
  id: string,
  { after = 0, through, pageSize = 5000 }: HistoryRange = {},
): AsyncGenerator<StepRecord[]> {
  const last = through ?? (await historyExtent(prisma, id)).lastStep;
  // Each page is a closed range of step numbers, read from the few chunks that overlap it.
  for (let from = after; from < last; from += pageSize) {
    const to = Math.min(from + pageSize, last);
    const page: StepRecord[] = [];
    for (const { firstStep, epoch, losses } of await chunksOverlapping(prisma, id, from + 1, to)) {
      const end = Math.min(losses.length, to - firstStep + 1);
      for (let index = Math.max(0, from + 1 - firstStep); index < end; index++)
        page.push({ step: firstStep + index, epoch, loss: losses[index] as number });
    }
    if (page.length > 0) yield page;
  }
}

/**
 * Removes a job's steps after `step`, cutting the chunk that holds it: a statement for a
 * transaction that has locked the job's row first, as every writer of its steps does.
 */
export function truncateHistory(prisma: PrismaClient, id: string, step: number) {
  return prisma.$executeRaw`
    WITH cut AS (
      UPDATE step_chunks SET losses_f32 = losses_f32[1 : ${step} - first_step + 1], losses_f64 = losses_f64[1 : ${step} - first_step + 1]
      WHERE job_id = ${id}::uuid AND first_step > ${step - maxChunkSteps} AND first_step <= ${step}
        AND first_step + step_count - 1 > ${step}
    )
    DELETE FROM step_chunks WHERE job_id = ${id}::uuid AND first_step > ${step}`;
}

export function createStepHistoryRepository(prisma: PrismaClient): StepHistoryRepository {
  return {
    recordSteps: (id, steps) => recordSteps(prisma, id, steps),
    historyExtent: (id) => historyExtent(prisma, id),
    historyPages: (id, range) => historyPages(prisma, id, range),
  };
}
