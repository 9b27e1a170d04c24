import { z } from 'zod';
import { queryRows, type PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';

// Runs past their expiry (stamped when they finished, migration 20261205100000_retention), as the
// purge removes them and its preview lists them. One definition of "removable" serves both, so the
// preview shows exactly what the next purge takes.

/** An expired run the purge may remove, with the bytes it holds in Postgres. */
export interface ExpiredRun {
  id: string;
  name: string | null;
  owner: string;
  finishedAt: Date;
  expiresAt: Date;
  bytes: number;
}

/** An expired run the purge leaves alone, and why. */
export interface HeldBackRun {
  id: string;
  name: string | null;
  owner: string;
  expiresAt: Date;
  reason: 'pinned' | 'active-children';
}

const activeChild = Prisma.sql`EXISTS (
  SELECT 1 FROM job_forks f JOIN jobs c ON c.id = f.job_id
  WHERE f.parent_job_id = j.id AND c.status IN ('queued', 'running'))`;

/** Ended, expired, not pinned, and no fork of it still queued or running. */
const removable = Prisma.sql`j.expires_at <= now() AND NOT j.pinned
  AND j.status IN ('completed', 'failed', 'cancelled') AND NOT ${activeChild}`;

const ofOwner = (owner: string | undefined) =>
  owner === undefined ? Prisma.empty : Prisma.sql`AND j.owner = ${owner}`;

// What the run keeps in Postgres, as GET /usage counts it: its history (step chunks, samples, epoch
// metrics), its models' artifacts and its kept checkpoints' artifacts. An artifact another run shares
// (a fork's pin) is counted here though the purge leaves it.
const runBytes = Prisma.sql`(
  (SELECT COALESCE(sum(pg_column_size(c.*)), 0) FROM step_chunks c WHERE c.job_id = j.id)
  + (SELECT COALESCE(sum(pg_column_size(s.*)), 0) FROM history_samples s WHERE s.job_id = j.id)
  + (SELECT COALESCE(sum(pg_column_size(e.*)), 0) FROM epoch_metrics e WHERE e.job_id = j.id)
  + (SELECT COALESCE(sum(a.bytes), 0) FROM artifacts a WHERE a.id IN (
      SELECT m.model_json_artifact_id FROM models m WHERE m.job_id = j.id
      UNION SELECT m.weights_artifact_id FROM models m WHERE m.job_id = j.id))
  + (SELECT COALESCE(sum(k.bytes), 0) FROM kept_checkpoints k WHERE k.job_id = j.id))`;

const expiredRows = z.array(
  z.object({
    id: z.string(),
    name: z.string().nullable(),
    owner: z.string(),
    finishedAt: z.date(),
    expiresAt: z.date(),
    bytes: z.coerce.number(),
  }),
);

const heldBackRows = z.array(
  z.object({
    id: z.string(),
    name: z.string().nullable(),
    owner: z.string(),
    expiresAt: z.date(),
    activeChildren: z.boolean(),
  }),
);

/** Expired runs the purge removes, soonest expired first (the index on expires_at walks them in order). */
async function removableRuns(prisma: PrismaClient, limit: number, owner?: string): Promise<ExpiredRun[]> {
  return expiredRows.parse(
    await queryRows(
      prisma,
      Prisma.sql`SELECT j.id::text AS id, j.name, j.owner, j.finished_at AS "finishedAt", j.expires_at AS "expiresAt",
          ${runBytes} AS bytes
        FROM jobs j WHERE ${removable} ${ofOwner(owner)}
        ORDER BY j.expires_at, j.id LIMIT ${limit}`,
    ),
  );
}

async function countRemovable(prisma: PrismaClient, owner?: string): Promise<number> {
  const [row] = await queryRows(
    prisma,
    Prisma.sql`SELECT count(*)::int AS count FROM jobs j WHERE ${removable} ${ofOwner(owner)}`,
  );
  return z.object({ count: z.number() }).parse(row).count;
}

/** Expired ended runs kept back: pinned ones (few, by their partial index) and parents of active forks. */
async function heldBackRuns(prisma: PrismaClient, limit: number, owner?: string): Promise<HeldBackRun[]> {
  const rows = heldBackRows.parse(
    await queryRows(
      prisma,
      Prisma.sql`SELECT j.id::text AS id, j.name, j.owner, j.expires_at AS "expiresAt",
          NOT j.pinned AS "activeChildren"
        FROM jobs j
        WHERE j.expires_at <= now() AND j.status IN ('completed', 'failed', 'cancelled') ${ofOwner(owner)}
          AND (j.pinned OR ${activeChild})
        ORDER BY j.expires_at, j.id LIMIT ${limit}`,
    ),
  );
  return rows.map(({ activeChildren, ...run }) => ({ ...run, reason: activeChildren ? 'active-children' : 'pinned' }));
}

/**
 * Deletes those of `ids` that are still removable, in one statement that checks again: a run pinned,
 * or forked again, since it was listed stays. The cascade removes what the run holds, as DELETE
 * /jobs/:id does (job-deletion.ts). Returns the ids deleted.
 */
async function deleteExpired(prisma: PrismaClient, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await queryRows(
    prisma,
    Prisma.sql`DELETE FROM jobs j WHERE j.id = ANY(${[...ids]}::uuid[]) AND ${removable} RETURNING j.id::text AS id`,
  );
  return z
    .array(z.object({ id: z.string() }))
    .parse(rows)
    .map((row) => row.id);
}

/**
 * Stamps again up to `limit` finished runs that carry no retention at all (they ended while none
 * applied), so a server default set since reaches them. Only for a client whose connections carry
 * RUN_RETENTION_DAYS: on any other, the stamp would come out empty again. Returns how many.
 */
async function stampUnstamped(prisma: PrismaClient, limit: number): Promise<number> {
  return prisma.$executeRaw`
    UPDATE jobs SET finished_at = finished_at
    WHERE id IN (SELECT id FROM jobs WHERE finished_at IS NOT NULL AND retention_source IS NULL LIMIT ${limit})`;
}

/** Expired runs: what retention removes and what it holds back. */
export interface ExpiredRunsRepository {
  /** Up to `limit` runs the purge would remove now, soonest expired first; only `owner`'s when given. */
  removableRuns: (limit: number, owner?: string) => Promise<ExpiredRun[]>;
  /** How many runs the purge would remove now. */
  countRemovable: (owner?: string) => Promise<number>;
  /** Up to `limit` expired ended runs the purge keeps: pinned, or with a fork still queued or running. */
  heldBackRuns: (limit: number, owner?: string) => Promise<HeldBackRun[]>;
  /** Deletes those of `ids` still removable, with all they hold; returns the ids deleted. */
  deleteExpired: (ids: readonly string[]) => Promise<string[]>;
  /** Gives up to `limit` finished runs without any retention the server default (see `stampUnstamped`). */
  stampUnstamped: (limit: number) => Promise<number>;
}

export function createExpiredRunsRepository(prisma: PrismaClient): ExpiredRunsRepository {
  return {
    removableRuns: (limit, owner) => removableRuns(prisma, limit, owner),
    countRemovable: (owner) => countRemovable(prisma, owner),
    heldBackRuns: (limit, owner) => heldBackRuns(prisma, limit, owner),
    deleteExpired: (ids) => deleteExpired(prisma, ids),
    stampUnstamped: (limit) => stampUnstamped(prisma, limit),
  };
}
