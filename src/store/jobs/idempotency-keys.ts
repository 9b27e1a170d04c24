import type { PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import { jobWithEpochsColumns, toJobsWithEpochs } from './job-select.js';
import { insertJob, type JobWithEpochs, type NewJob } from './rows.js';

/** Idempotency-Key of POST /jobs: the same key and body return the same job. */
export interface IdempotencyKeysRepository {
  /**
   * Inserts a queued job under an idempotency key, both or neither. Returns null when the key is
   * taken (by an earlier or a concurrent request); `findByIdempotencyKey` then tells by which.
   */
  createWithKey: (job: NewJob, key: string, bodyHash: string) => Promise<JobWithEpochs | null>;
  /** The job a key was first used for, and the hash of the body it came with. */
  findByIdempotencyKey: (key: string) => Promise<{ bodyHash: string; jobId: string } | null>;
}

async function createWithKey(
  prisma: PrismaClient,
  job: NewJob,
  key: string,
  bodyHash: string,
): Promise<JobWithEpochs | null> {
  // One statement, so both rows or neither, in one round trip. A key taken before (or by a
  // concurrent request, once it commits) inserts no key row, and then no job row either. The key's
  // reference to its job is checked at the end of the statement, when both rows are there.
  const [created] = toJobsWithEpochs(
    await prisma.$queryRaw<Record<string, unknown>[]>`
      WITH taken AS (
        INSERT INTO idempotency_keys (key, body_hash, job_id) VALUES (${key}, ${bodyHash}, ${job.id}::uuid)
        ON CONFLICT (key) DO NOTHING RETURNING key
      ), inserted AS (
        ${insertJob(job, Prisma.sql`EXISTS (SELECT FROM taken)`)} RETURNING *
      )
      SELECT ${jobWithEpochsColumns} FROM inserted j`,
  );
  return created ?? null;
}

function findByIdempotencyKey(prisma: PrismaClient, key: string) {
  return prisma.idempotencyKey.findUnique({ where: { key }, select: { bodyHash: true, jobId: true } });
}

export function createIdempotencyKeysRepository(prisma: PrismaClient): IdempotencyKeysRepository {
  return {
    createWithKey: (job, key, bodyHash) => createWithKey(prisma, job, key, bodyHash),
    findByIdempotencyKey: (key) => findByIdempotencyKey(prisma, key),
  };
}
