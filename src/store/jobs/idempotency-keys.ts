import type { PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import { newJobRow, toJob, withEpochs, type JobWithEpochs, type NewJob } from './rows.js';

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
  try {
    const [created] = await prisma.$transaction([
      prisma.job.create({ data: newJobRow(job), include: withEpochs }),
      prisma.idempotencyKey.create({ data: { key, bodyHash, jobId: job.id } }),
    ]);
    return toJob(created);
  } catch (error) {
    // P2002: a unique constraint refused the insert, that of the key (or, by a client's reuse, the id).
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return null;
    throw error;
  }
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
