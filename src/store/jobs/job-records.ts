import { z } from 'zod';
import { accelerators, type Accelerator } from '../../domain/spec-vocabulary.js';
import { queryRows, type PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import type { JobStatus } from '../generated/enums.js';
import { discardCheckpoint } from './checkpoints.js';
import { jobWithEpochsColumns, newJobColumns, toJobsWithEpochs } from './job-select.js';
import { truncateHistory } from './step-history.js';
import { insertJobs, toJob, withEpochs, type Job, type JobWithEpochs, type NewJob } from './rows.js';
import { durationSoFar, jobStatuses, terminalStatuses, unfinished, unheld, type TerminalStatus } from './sql.js';

export type ClaimResult =
  { outcome: 'claimed'; job: Job } | { outcome: 'busy' } | { outcome: 'cancelled' } | { outcome: 'gone' };

/** What a cancel request did: see `requestCancel`. */
export type CancelResult = 'cancelled' | 'requested' | 'finished';

export interface OrphanedJob {
  id: string;
  status: JobStatus;
  createdAt: Date;
  /** What the job asked to train on (its spec's accelerator), so it goes back to the right queue. */
  accelerator: Accelerator | undefined;
}

/** A job's own row through its life: queued, claimed and leased by one attempt, ended once. */
export interface JobRecordsRepository {
  /** Inserts a queued job. */
  create: (job: NewJob) => Promise<JobWithEpochs>;
  /** Inserts queued jobs in one statement, all or none; returned in the order given. */
  createMany: (jobs: readonly NewJob[]) => Promise<JobWithEpochs[]>;
  /** The job; with `owner`, only when that owner's (another owner's job is as missing). */
  find: (id: string, owner?: string) => Promise<JobWithEpochs | null>;
  /** Jobs with their epochs, in the order of `ids`; missing ids (and, with `owner`, other owners' jobs) are left out. */
  findMany: (ids: readonly string[], owner?: string) => Promise<JobWithEpochs[]>;
  /** The owner of a job, or null when it does not exist. */
  ownerOf: (id: string) => Promise<string | null>;
  /** How many of an owner's jobs are queued or running. */
  countActive: (owner: string) => Promise<number>;
  /**
   * Takes a job for one more attempt: a queued job, or a running one whose worker's lease has run
   * out. `busy` means another worker holds a live lease on it; `gone` that it ended or never existed;
   * `cancelled` that its cancel was asked for while no worker held it, and it has now ended.
   */
  claim: (id: string, backend: string, leaseMs: number, owner: string) => Promise<ClaimResult>;
  /** Keeps the lease of the attempt `owner` alive; false when that attempt no longer holds the job. */
  extendLease: (id: string, owner: string, leaseMs: number) => Promise<boolean>;
  /**
   * Writes a job's final status and returns the status written: `cancelled` (with no error) instead
   * of the one asked for when a cancel was committed first, so a cancel that was answered
   * `requested` always ends `cancelled`. Null when the job had already ended, or when `owner` is
   * given and that attempt no longer holds the job.
   */
  finish: (id: string, status: TerminalStatus, error?: string, owner?: string) => Promise<TerminalStatus | null>;
  /**
   * Puts a running job of attempt `owner` back to queued, for an attempt that stops without ending it:
   * not counted as a crashed attempt, unless `crashed` says the attempt's training thread died.
   */
  handBack: (id: string, owner: string, options?: { crashed?: boolean }) => Promise<void>;
  /**
   * Cancels a job: a queued one at once (`cancelled`), a running one by flagging it for its worker
   * (`requested`: its final status will be `cancelled`). `finished` once a final status is written;
   * null when the job does not exist or, with `owner`, is another owner's.
   */
  requestCancel: (id: string, owner?: string) => Promise<CancelResult | null>;
  /** Which of these jobs someone asked to cancel. */
  cancelRequested: (ids: readonly string[]) => Promise<string[]>;
  /**
   * Makes the record agree with the point an attempt resumes from: steps after `step` and
   * metrics of epochs after `epoch` are removed, so the new attempt writes them exactly once.
   */
  rewindTo: (id: string, position: { step: number; completedEpochs: number; progressEpoch: number }) => Promise<void>;
  /**
   * Jobs Postgres holds as queued, or running without a live lease (their worker is gone),
   * oldest first: the ones the queue must hold a message for.
   */
  orphaned: (after?: { createdAt: Date; id: string }, limit?: number) => Promise<OrphanedJob[]>;
}

/** Inserts queued jobs in one statement (all or none), returned in the order given. */
async function createMany(prisma: PrismaClient, jobs: readonly NewJob[]): Promise<JobWithEpochs[]> {
  if (jobs.length === 0) return [];
  // The rows as inserted, their defaults filled in (a new job has no epochs yet).
  const created = toJobsWithEpochs(await queryRows(prisma, Prisma.sql`${insertJobs(jobs)} RETURNING ${newJobColumns}`));
  const byId = new Map(created.map((job) => [job.id, job]));
  return jobs.map((job) => {
    const row = byId.get(job.id);
    if (!row) throw new Error(`job ${job.id} was not inserted`);
    return row;
  });
}

const countRows = z.array(z.object({ count: z.int() })).length(1);

// Through pg, as a prepared statement: with quotas on, every submission asks it.
async function countActive(prisma: PrismaClient, owner: string): Promise<number> {
  const [counted] = countRows.parse(
    await queryRows(
      prisma,
      Prisma.sql`SELECT count(*)::int AS count FROM jobs WHERE owner = ${owner} AND status IN ('queued', 'running')`,
    ),
  );
  return counted?.count ?? 0;
}

async function find(prisma: PrismaClient, id: string, owner?: string): Promise<JobWithEpochs | null> {
  const ownerCondition = owner === undefined ? Prisma.empty : Prisma.sql`AND j.owner = ${owner}`;
  const [job] = toJobsWithEpochs(
    await queryRows(
      prisma,
      Prisma.sql`SELECT ${jobWithEpochsColumns} FROM jobs j WHERE j.id = ${id}::uuid ${ownerCondition}`,
    ),
  );
  return job ?? null;
}

/** Jobs with their epochs, in the order of `ids`; missing ids (and, with `owner`, other owners' jobs) are left out. */
export async function findJobs(prisma: PrismaClient, ids: readonly string[], owner?: string): Promise<JobWithEpochs[]> {
  const found = await prisma.job.findMany({
    where: { id: { in: [...ids] }, ...(owner === undefined ? {} : { owner }) },
    include: withEpochs,
  });
  const byId = new Map(found.map((row) => [row.id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row ? [toJob(row)] : [];
  });
}

async function claim(
  prisma: PrismaClient,
  id: string,
  backend: string,
  leaseMs: number,
  owner: string,
): Promise<ClaimResult> {
  // A job whose cancel was asked for while no worker held it ends here instead of training again.
  const cancelled = await prisma.$executeRaw`
    UPDATE jobs SET status = 'cancelled', finished_at = now(), updated_at = now(), lease_expires_at = NULL, lease_owner = NULL,
      duration_ms = ${durationSoFar}
    WHERE id = ${id}::uuid AND cancel_requested_at IS NOT NULL AND ${unheld}`;
  if (cancelled === 1) {
    await discardCheckpoint(prisma, id);
    return { outcome: 'cancelled' };
  }
  // Lease times come from the database's clock, the one clock every worker shares.
  const claimed = await prisma.$executeRaw`
    UPDATE jobs SET status = 'running', backend = ${backend}, attempts = attempts + 1, error = NULL,
      started_at = COALESCE(started_at, now()), updated_at = now(), lease_owner = ${owner}::uuid,
      lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
    WHERE id = ${id}::uuid AND cancel_requested_at IS NULL AND ${unheld}`;
  const row = await prisma.job.findUnique({ where: { id } });
  if (claimed === 1 && row) return { outcome: 'claimed', job: toJob(row) };
  return row?.status === 'running' ? { outcome: 'busy' } : { outcome: 'gone' };
}

async function extendLease(prisma: PrismaClient, id: string, owner: string, leaseMs: number): Promise<boolean> {
  const count = await prisma.$executeRaw`
    UPDATE jobs SET lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
    WHERE id = ${id}::uuid AND status = 'running' AND lease_owner = ${owner}::uuid`;
  return count === 1;
}

const writtenStatus = z.array(z.object({ status: z.enum(terminalStatuses) })).max(1);

async function finish(
  prisma: PrismaClient,
  id: string,
  status: TerminalStatus,
  error?: string,
  owner?: string,
): Promise<TerminalStatus | null> {
  // The race with a cancel is decided by this one statement. Under READ COMMITTED an UPDATE that
  // waits for a concurrent update of the row re-evaluates its WHERE and SET on the version that
  // update committed: a cancel flagged first is seen here; one flagged after finds the job ended.
  const written = writtenStatus.parse(
    await prisma.$queryRaw`
      UPDATE jobs SET
        status = CASE WHEN cancel_requested_at IS NULL THEN ${status}::"JobStatus" ELSE 'cancelled' END,
        error = CASE WHEN cancel_requested_at IS NULL THEN ${error ?? null}::text END,
        finished_at = now(), updated_at = now(), lease_expires_at = NULL, lease_owner = NULL,
        duration_ms = ${durationSoFar}
      WHERE id = ${id}::uuid AND ${unfinished}
        AND (${owner ?? null}::uuid IS NULL OR lease_owner = ${owner ?? null}::uuid)
      RETURNING status::text AS status`,
  );
  const final = written[0]?.status ?? null;
  if (final !== null) await discardCheckpoint(prisma, id);
  return final;
}

async function handBack(
  prisma: PrismaClient,
  id: string,
  owner: string,
  options: { crashed?: boolean } = {},
): Promise<void> {
  await prisma.job.updateMany({
    where: { id, status: 'running', leaseOwner: owner },
    data: {
      status: 'queued',
      ...(options.crashed ? {} : { handedBack: { increment: 1 } }),
      leaseExpiresAt: null,
      leaseOwner: null,
    },
  });
}

const cancelledOrRunning = z.array(z.object({ status: z.enum(['cancelled', 'running']) })).max(1);

async function requestCancel(prisma: PrismaClient, id: string, owner?: string): Promise<CancelResult | null> {
  const ownerCondition = owner === undefined ? Prisma.empty : Prisma.sql`AND owner = ${owner}`;
  // One statement, so the job cannot move between queued and running (claim, hand-back) in between.
  const [flagged] = cancelledOrRunning.parse(
    await prisma.$queryRaw`
      UPDATE jobs SET cancel_requested_at = now(), updated_at = now(),
        status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
        finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END
      WHERE id = ${id}::uuid AND status IN ('queued', 'running') ${ownerCondition}
      RETURNING status::text AS status`,
  );
  if (flagged?.status === 'cancelled') {
    await discardCheckpoint(prisma, id);
    return 'cancelled';
  }
  if (flagged?.status === 'running') return 'requested';
  const job = await prisma.job.findUnique({
    where: { id, ...(owner === undefined ? {} : { owner }) },
    select: { status: true },
  });
  return job ? 'finished' : null;
}

async function cancelRequested(prisma: PrismaClient, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await prisma.job.findMany({
    where: { id: { in: [...ids] }, cancelRequestedAt: { not: null } },
    select: { id: true },
  });
  return rows.map((row) => row.id);
}

async function rewindTo(
  prisma: PrismaClient,
  id: string,
  position: { step: number; completedEpochs: number; progressEpoch: number },
): Promise<void> {
  // The job's row first: every writer of its steps locks it before touching them.
  await prisma.$transaction([
    prisma.job.update({ where: { id }, data: { step: position.step, epoch: position.progressEpoch } }),
    truncateHistory(prisma, id, position.step),
    prisma.epochMetric.deleteMany({ where: { jobId: id, epoch: { gt: position.completedEpochs } } }),
  ]);
}

const orphanedRows = z.array(
  z.object({
    id: z.string(),
    status: z.enum(jobStatuses),
    createdAt: z.date(),
    // An accelerator this server no longer knows trains on any worker rather than stopping the pass.
    accelerator: z
      .enum(accelerators)
      .nullable()
      .catch(null)
      .transform((value) => value ?? undefined),
  }),
);

async function orphaned(
  prisma: PrismaClient,
  after?: { createdAt: Date; id: string },
  limit = 500,
): Promise<OrphanedJob[]> {
  const from = after ? Prisma.sql`AND (created_at, id) > (${after.createdAt}, ${after.id}::uuid)` : Prisma.empty;
  return orphanedRows.parse(
    await prisma.$queryRaw`
      SELECT id::text, status::text, created_at AS "createdAt", spec->>'accelerator' AS accelerator FROM jobs
      WHERE ${unheld} ${from}
      ORDER BY created_at, id LIMIT ${limit}`,
  );
}

export function createJobRecordsRepository(prisma: PrismaClient): JobRecordsRepository {
  return {
    create: async (job) => (await createMany(prisma, [job]))[0] as JobWithEpochs,
    createMany: (jobs) => createMany(prisma, jobs),
    find: (id, owner) => find(prisma, id, owner),
    findMany: (ids, owner) => findJobs(prisma, ids, owner),
    ownerOf: async (id) => (await prisma.job.findUnique({ where: { id }, select: { owner: true } }))?.owner ?? null,
    countActive: (owner) => countActive(prisma, owner),
    claim: (id, backend, leaseMs, owner) => claim(prisma, id, backend, leaseMs, owner),
    extendLease: (id, owner, leaseMs) => extendLease(prisma, id, owner, leaseMs),
    finish: (id, status, error, owner) => finish(prisma, id, status, error, owner),
    handBack: (id, owner, options) => handBack(prisma, id, owner, options),
    requestCancel: (id, owner) => requestCancel(prisma, id, owner),
    cancelRequested: (ids) => cancelRequested(prisma, ids),
    rewindTo: (id, position) => rewindTo(prisma, id, position),
    orphaned: (after, limit) => orphaned(prisma, after, limit),
  };
}
