import { z } from 'zod';
import { Prisma } from '../generated/client.js';
import { queryRows, type PrismaClient } from '../database.js';
import { decodeLosses } from './step-chunks.js';
import type { StepRecord } from './step-history.js';
import { terminalStatuses } from './sql.js';

/** A finished job's history downsampled to some points, as stored: at most that many of its steps. */
export interface StoredSample {
  steps: readonly StepRecord[];
  /** Steps recorded when it was computed (more than `steps.length`). */
  totalSteps: number;
}

/**
 * Finished jobs' downsampled loss histories, kept in Postgres so a fresh API process reads one row
 * instead of every step. Only a job that has finished gets one, and a later write of its steps
 * removes it (step-history.ts), so what is read back is what computing it from the steps would give.
 */
export interface HistorySamplesRepository {
  /** The sample of `points` stored for the job, or null when there is none. */
  storedSample: (id: string, points: number) => Promise<StoredSample | null>;
  /**
   * Stores the sample of `points`, computed from `sample.totalSteps` steps of the job as it was when
   * its `updatedAt` was `seen`, unless one is stored already. Nothing is stored while the job has not
   * finished, nor once its row was written since (every write of its steps writes it) or its steps
   * are no longer that many. Resolves to whether it was stored.
   */
  storeSample: (id: string, points: number, sample: StoredSample, seen: Date) => Promise<boolean>;
}

const sampleRows = z
  .array(
    z.object({
      totalSteps: z.number().int(),
      steps: z.array(z.number().int()),
      epochs: z.array(z.number().int()),
      // array_send's binary form, as base64 (as step chunks are read): every float64 back to the bit.
      losses: z.string().transform((text) => decodeLosses(Buffer.from(text, 'base64'))),
    }),
  )
  .max(1);

async function storedSample(prisma: PrismaClient, id: string, points: number): Promise<StoredSample | null> {
  // Straight from pg: a fresh API process answers this without first loading Prisma's query compiler.
  const [row] = sampleRows.parse(
    await queryRows(
      prisma,
      Prisma.sql`
        SELECT total_steps AS "totalSteps", steps, epochs, encode(array_send(losses), 'base64') AS losses
        FROM history_samples WHERE job_id = ${id}::uuid AND points = ${points}`,
    ),
  );
  if (!row) return null;
  const { steps, epochs, losses, totalSteps } = row;
  if (epochs.length !== steps.length || losses.length !== steps.length)
    throw new Error('a stored history sample has arrays of different lengths');
  return {
    steps: steps.map((step, index) => ({ step, epoch: epochs[index] as number, loss: losses[index] as number })),
    totalSteps,
  };
}

async function storeSample(
  prisma: PrismaClient,
  id: string,
  points: number,
  sample: StoredSample,
  seen: Date,
): Promise<boolean> {
  const { steps, totalSteps } = sample;
  // The job's row is locked first, as every writer of its steps locks it, and the steps are counted
  // by the next statement, with a snapshot taken after that lock: a write of steps comes either
  // before the count (which then differs) or after the row is stored (and removes it).
  const [, stored] = await prisma.$transaction([
    prisma.$queryRaw`SELECT 1 FROM jobs WHERE id = ${id}::uuid FOR UPDATE`,
    prisma.$executeRaw`
      INSERT INTO history_samples (job_id, points, total_steps, steps, epochs, losses)
      SELECT id, ${points}, ${totalSteps}, ${steps.map((one) => one.step)}::int[],
        ${steps.map((one) => one.epoch)}::int[], ${steps.map((one) => one.loss)}::float8[]
      FROM jobs
      WHERE id = ${id}::uuid AND status::text IN (${Prisma.join(terminalStatuses)}) AND updated_at = ${seen}
        AND (SELECT COALESCE(sum(step_count), 0) FROM step_chunks WHERE job_id = ${id}::uuid) = ${totalSteps}
      ON CONFLICT (job_id, points) DO NOTHING`,
  ]);
  return stored === 1;
}

export function createHistorySamplesRepository(prisma: PrismaClient): HistorySamplesRepository {
  return {
    storedSample: (id, points) => storedSample(prisma, id, points),
    storeSample: (id, points, sample, seen) => storeSample(prisma, id, points, sample, seen),
  };
}
