import { z } from 'zod';
import { queryRows, type PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import { newJobColumns, toJobsWithEpochs } from './job-select.js';
import { insertJobs, type JobWithEpochs, type NewJob } from './rows.js';

/** A new job and the idempotency key it is created under. */
export interface KeyedJob {
  job: NewJob;
  key: string;
  bodyHash: string;
}

/** Idempotency-Key of POST /jobs: the same key and body return the same job. */
export interface IdempotencyKeysRepository {
  /**
   * Inserts a queued job under an idempotency key, both or neither. Returns null when the key is
   * taken (by an earlier or a concurrent request); `findByIdempotencyKey` then tells by which.
   */
  createWithKey: (job: NewJob, key: string, bodyHash: string) => Promise<JobWithEpochs | null>;
  /**
   * `createWithKey` for several jobs in one statement, answered in the order given. Of jobs given
   * the same key, the first is created.
   */
  createManyWithKeys: (entries: readonly KeyedJob[]) => Promise<(JobWithEpochs | null)[]>;
  /** The job a key was first used for, and the hash of the body it came with. */
  findByIdempotencyKey: (key: string) => Promise<{ bodyHash: string; jobId: string } | null>;
}

async function createManyWithKeys(
  prisma: PrismaClient,
  entries: readonly KeyedJob[],
): Promise<(JobWithEpochs | null)[]> {
  if (entries.length === 0) return [];
  // One statement, so each job's two rows or neither, in one round trip. A key taken before (or by
  // a concurrent request, once it commits) inserts no key row, and then no job row either. The
  // key's reference to its job is checked at the end of the statement, when both rows are there.
  // Keys are inserted in key order, so two statements waiting on each other's keys cannot deadlock.
  const keys = JSON.stringify(entries.map(({ job, key, bodyHash }) => ({ key, body_hash: bodyHash, job_id: job.id })));
  const created = toJobsWithEpochs(
    await queryRows(
      prisma,
      Prisma.sql`
        WITH taken AS (
          INSERT INTO idempotency_keys (key, body_hash, job_id)
          SELECT k.key, k.body_hash, k.job_id
          FROM ROWS FROM (jsonb_to_recordset(${keys}::jsonb) AS (key text, body_hash text, job_id uuid))
            WITH ORDINALITY AS k(key, body_hash, job_id, n)
          ORDER BY k.key, k.n
          ON CONFLICT (key) DO NOTHING RETURNING job_id
        ), inserted AS (
          ${insertJobs(
            entries.map((entry) => entry.job),
            Prisma.sql`r.id IN (SELECT job_id FROM taken)`,
          )}
          RETURNING ${newJobColumns}
        )
        SELECT * FROM inserted`,
    ),
  );
  const byId = new Map(created.map((job) => [job.id, job]));
  return entries.map(({ job }) => byId.get(job.id) ?? null);
}

const keyRows = z.array(z.object({ bodyHash: z.string(), jobId: z.string() })).max(1);

async function findByIdempotencyKey(prisma: PrismaClient, key: string) {
  const [found] = keyRows.parse(
    await queryRows(
      prisma,
      Prisma.sql`SELECT body_hash AS "bodyHash", job_id::text AS "jobId" FROM idempotency_keys WHERE key = ${key}`,
    ),
  );
  return found ?? null;
}

export function createIdempotencyKeysRepository(prisma: PrismaClient): IdempotencyKeysRepository {
  return {
    createWithKey: async (job, key, bodyHash) =>
      (await createManyWithKeys(prisma, [{ job, key, bodyHash }]))[0] ?? null,
    createManyWithKeys: (entries) => createManyWithKeys(prisma, entries),
    findByIdempotencyKey: (key) => findByIdempotencyKey(prisma, key),
  };
}
