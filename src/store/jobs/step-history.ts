import { z } from 'zod';
import { runSteps, type StepLoss, type StepRun } from '../../domain/metrics.js';
import { inPoolTransaction, queryRows, type PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import { chunkSteps, decodeLosses, latestPerStep, maxChunkSteps, mergeSteps, sameChunk } from './step-chunks.js';

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
  /**
   * The same steps as `historyPages`, as runs of consecutive steps with their losses in typed
   * arrays, for readers of whole histories that want no object per step (pages of 50,000 steps by default).
   */
  historyRuns: (id: string, range?: HistoryRange) => AsyncGenerator<StepRun[]>;
}

const storedChunks = z.array(
  z.object({
    firstStep: z.number().int(),
    epoch: z.number().int(),
    // array_send's binary form of the losses, as base64: Prisma hands over text several times faster
    // than bytea, and decoding it parses no number and makes no object per value.
    losses: z.string().transform((text) => decodeLosses(Buffer.from(text, 'base64'))),
    narrow: z.boolean(),
    version: z.string(),
  }),
);
type StoredChunk = z.output<typeof storedChunks>[number];

/**
 * The chunks holding any step from `from` through `to`, in step order. Chunks never overlap and
 * hold at most `maxChunkSteps` steps, so only the ones starting after `from - maxChunkSteps` can.
 * `version` (the row's xmin) changes whenever the row is written.
 */
async function chunksOverlapping(prisma: PrismaClient, id: string, from: number, to: number): Promise<StoredChunk[]> {
  // Straight from pg: Prisma's $queryRaw took three quarters of the time of reading a long history.
  return storedChunks.parse(
    await queryRows(
      prisma,
      Prisma.sql`
      SELECT first_step AS "firstStep", epoch, encode(COALESCE(array_send(losses_f64), array_send(losses_f32)), 'base64') AS losses,
        losses_f32 IS NOT NULL AS narrow, xmin::text AS version
      FROM step_chunks
      WHERE job_id = ${id}::uuid AND first_step > ${from - maxChunkSteps} AND first_step <= ${to}
        AND first_step + step_count > ${from}
      ORDER BY first_step`,
    ),
  );
}

const chunkKey = (chunk: Pick<StoredChunk, 'firstStep' | 'version'>) => `${chunk.firstStep}@${chunk.version}`;

/**
 * Writes `steps` over what is stored: the chunks they overlap or extend are read, merged with them
 * and written back, only where they changed; any stored sample of the history is removed. Every writer of a job's steps locks the job's row
 * first; the merge was computed before that lock, so it is written only if the chunks it read are
 * still as they were (by row version), and computed again if not. Resolves to whether it was written.
 */
async function writeMerged(prisma: PrismaClient, id: string, steps: readonly StepRecord[], last: StepRecord) {
  const first = (steps[0] as StepRecord).step;
  const end = (steps.at(-1) as StepRecord).step;
  // Neighbours on both sides, so a batch that continues a chunk fills it up.
  const stored = (await chunksOverlapping(prisma, id, first - 1, end + 1)).map((chunk) => ({
    ...chunk,
    losses: Array.from(chunk.losses),
  }));
  const next = chunkSteps(mergeSteps(stored, steps));
  const changed = next.filter((chunk) => !stored.some((old) => sameChunk(old, chunk)));
  const removed = stored.filter((old) => !next.some((chunk) => chunk.firstStep === old.firstStep));
  const offsets = changed.reduce<number[]>(
    (all, chunk, index) => [...all, (all[index] ?? 0) + chunk.losses.length],
    [0],
  );
  // Straight through pg: Prisma's own CPU per statement was most of a training worker's cost of a write.
  const statements = [
    Prisma.sql`
      UPDATE jobs SET step = GREATEST(step, ${last.step}), epoch = GREATEST(epoch, ${last.epoch}), updated_at = now()
      WHERE id = ${id}::uuid`,
    Prisma.sql`
      WITH unchanged AS (
        SELECT COALESCE(array_agg(first_step || '@' || xmin::text ORDER BY first_step), '{}') = ${stored.map(chunkKey)}::text[] AS yes
        FROM step_chunks
        WHERE job_id = ${id}::uuid AND first_step > ${first - 1 - maxChunkSteps} AND first_step <= ${end + 1}
          AND first_step + step_count > ${first - 1}
      ), unsampled AS (
        -- A stored sample of the history (history-samples.ts) is computed from the steps as they were.
        DELETE FROM history_samples USING unchanged WHERE unchanged.yes AND job_id = ${id}::uuid
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
  ];
  const outcome = await inPoolTransaction(prisma, async (client) => {
    let rows: unknown[] = [];
    for (const { text, values } of statements) rows = (await client.query({ text, values })).rows;
    return rows[0] as { written?: unknown } | undefined;
  });
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

/** The steps from `from` through `to` of the chunks that hold any of them. */
async function runsWithin(prisma: PrismaClient, id: string, from: number, to: number): Promise<StepRun[]> {
  return (await chunksOverlapping(prisma, id, from, to)).map(({ firstStep, epoch, losses }) => {
    const start = Math.max(0, from - firstStep);
    return { firstStep: firstStep + start, epoch, losses: losses.subarray(start, to - firstStep + 1) };
  });
}

async function* historyRuns(
  prisma: PrismaClient,
  id: string,
  { after = 0, through, pageSize = 50_000 }: HistoryRange = {},
): AsyncGenerator<StepRun[]> {
  const last = through ?? (await historyExtent(prisma, id)).lastStep;
  // Each page is a closed range of step numbers. The next page is asked for before this one is
  // handed on, so Postgres reads it while the caller works: never more than two pages held.
  const page = (from: number) => runsWithin(prisma, id, from + 1, Math.min(from + pageSize, last));
  let next = after < last ? page(after) : undefined;
  for (let from = after; next !== undefined; from += pageSize) {
    const runs = await next;
    next = from + pageSize < last ? page(from + pageSize) : undefined;
    // A caller that stops early never awaits it: its failure is not theirs to hear.
    next?.catch(() => undefined);
    if (runs.length > 0) yield runs;
  }
}

async function* historyPages(prisma: PrismaClient, id: string, range: HistoryRange = {}): AsyncGenerator<StepRecord[]> {
  for await (const runs of historyRuns(prisma, id, { ...range, pageSize: range.pageSize ?? 5000 }))
    yield runs.flatMap(runSteps);
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
    ), unsampled AS (
      DELETE FROM history_samples WHERE job_id = ${id}::uuid
    )
    DELETE FROM step_chunks WHERE job_id = ${id}::uuid AND first_step > ${step}`;
}

export function createStepHistoryRepository(prisma: PrismaClient): StepHistoryRepository {
  return {
    recordSteps: (id, steps) => recordSteps(prisma, id, steps),
    historyExtent: (id) => historyExtent(prisma, id),
    historyPages: (id, range) => historyPages(prisma, id, range),
    historyRuns: (id, range) => historyRuns(prisma, id, range),
  };
}
