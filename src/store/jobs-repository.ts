import type { JobSpec } from '../domain/job-spec.js';
import type { EpochMetrics, StepLoss } from '../domain/metrics.js';
import type { PrismaClient } from './database.js';
import { Prisma, type EpochMetric, type Job } from './generated/client.js';
import { JobStatus } from './generated/enums.js';

export type { EpochMetric, Job, JobStatus };
export type JobWithEpochs = Job & { epochs: EpochMetric[] };

export const runSorts = ['created', 'finalAccuracy', 'bestAccuracy', 'duration'] as const;
export type RunSort = (typeof runSorts)[number];

export interface RunQuery {
  statuses?: JobStatus[];
  dataset?: string;
  /** Case-insensitive substring of the name. */
  nameContains?: string;
  tag?: string;
  sort: RunSort;
  order: 'asc' | 'desc';
  limit: number;
  /** The sort key and id of the last row of the previous page. */
  after?: { key: number; id: string };
}

// Unfinished runs have no accuracy or duration yet; they sort as -1, below every real value.
const sortKeys: Record<RunSort, Prisma.Sql> = {
  created: Prisma.sql`(extract(epoch FROM created_at) * 1000)`,
  finalAccuracy: Prisma.sql`COALESCE(final_test_accuracy, -1)`,
  bestAccuracy: Prisma.sql`COALESCE(best_test_accuracy, -1)`,
  duration: Prisma.sql`COALESCE(duration_ms, -1)::float8`,
};

/** Every status a job can have, in the order a job goes through them. */
export const jobStatuses = Object.values(JobStatus) as [JobStatus, ...JobStatus[]];

export const terminalStatuses: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export type ClaimResult =
  { outcome: 'claimed'; job: Job } | { outcome: 'busy' } | { outcome: 'cancelled' } | { outcome: 'gone' };

export interface NewJob {
  id: string;
  spec: JobSpec;
  parameterCount: number;
  totalSteps: number;
}

/** A checkpoint as the store keeps it: its position, a JSON description and a binary blob. */
export interface StoredCheckpoint {
  step: number;
  epoch: number;
  state: unknown;
  tensors: Uint8Array<ArrayBuffer>;
}

export type StepRecord = StepLoss;

export interface HistoryRange {
  /** Steps after this one (default 0: from the first). */
  after?: number;
  /** Steps up to and including this one (default: the last). */
  through?: number;
  /** Steps per query. */
  pageSize?: number;
}
export type EpochRecord = EpochMetrics;

function jobRow(job: NewJob) {
  return {
    id: job.id,
    name: job.spec.name ?? null,
    tags: job.spec.tags ?? [],
    dataset: job.spec.dataset,
    spec: job.spec as unknown as Prisma.InputJsonObject,
    parameterCount: job.parameterCount,
    totalSteps: job.totalSteps,
  };
}

// A job as the repository returns it: with its epochs, in order.
const withEpochs = { epochs: { orderBy: { epoch: 'asc' } } } as const;

// A job no live attempt holds: still queued, or running under a lease that has run out.
const unheld = Prisma.sql`(status = 'queued' OR (status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < now())))`;

// The job's time from its first start to now, for a job that is ending.
const durationSoFar = Prisma.sql`CASE WHEN started_at IS NULL THEN NULL ELSE (extract(epoch FROM now() - started_at) * 1000)::int END`;

/** Every read and write of jobs, their epoch metrics and their step losses. */
export function createJobsRepository(prisma: PrismaClient) {
  async function historyExtent(id: string): Promise<{ count: number; lastStep: number }> {
    const { _count, _max } = await prisma.stepLoss.aggregate({
      where: { jobId: id },
      _count: true,
      _max: { step: true },
    });
    return { count: _count, lastStep: _max.step ?? 0 };
  }

  async function findMany(ids: readonly string[]): Promise<JobWithEpochs[]> {
    const found = await prisma.job.findMany({ where: { id: { in: [...ids] } }, include: withEpochs });
    const byId = new Map(found.map((job) => [job.id, job]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  return {
    /** Inserts a queued job. */
    create(job: NewJob): Promise<JobWithEpochs> {
      return prisma.job.create({ data: jobRow(job), include: withEpochs });
    },

    /**
     * Inserts a queued job under an idempotency key, both or neither. Returns null when the key is
     * taken (by an earlier or a concurrent request); `findByIdempotencyKey` then tells by which.
     */
    async createWithKey(job: NewJob, key: string, bodyHash: string): Promise<JobWithEpochs | null> {
      try {
        const [created] = await prisma.$transaction([
          prisma.job.create({ data: jobRow(job), include: withEpochs }),
          prisma.idempotencyKey.create({ data: { key, bodyHash, jobId: job.id } }),
        ]);
        return created;
      } catch (error) {
        if ((error as { code?: string }).code === 'P2002') return null;
        throw error;
      }
    },

    findByIdempotencyKey(key: string): Promise<{ bodyHash: string; jobId: string } | null> {
      return prisma.idempotencyKey.findUnique({ where: { key }, select: { bodyHash: true, jobId: true } });
    },

    find(id: string): Promise<JobWithEpochs | null> {
      return prisma.job.findUnique({ where: { id }, include: withEpochs });
    },

    /**
     * Takes a job for one more attempt: a queued job, or a running one whose worker's lease has run
     * out. `busy` means another worker holds a live lease on it; `gone` that it ended or never existed.
     */
    async claim(id: string, backend: string, leaseMs: number, owner: string): Promise<ClaimResult> {
      // A job whose cancel was asked for while no worker held it ends here instead of training again.
      const cancelled = await prisma.$executeRaw`
        UPDATE jobs SET status = 'cancelled', finished_at = now(), updated_at = now(), lease_expires_at = NULL, lease_owner = NULL,
          duration_ms = ${durationSoFar}
        WHERE id = ${id}::uuid AND cancel_requested_at IS NOT NULL AND ${unheld}`;
      if (cancelled === 1) {
        await prisma.checkpoint.deleteMany({ where: { jobId: id } });
        return { outcome: 'cancelled' };
      }
      // Lease times come from the database's clock, the one clock every worker shares.
      const claimed = await prisma.$executeRaw`
        UPDATE jobs SET status = 'running', backend = ${backend}, attempts = attempts + 1, error = NULL,
          started_at = COALESCE(started_at, now()), updated_at = now(), lease_owner = ${owner}::uuid,
          lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
        WHERE id = ${id}::uuid AND cancel_requested_at IS NULL AND ${unheld}`;
      const job = await prisma.job.findUnique({ where: { id } });
      if (claimed === 1 && job) return { outcome: 'claimed', job };
      return job?.status === 'running' ? { outcome: 'busy' } : { outcome: 'gone' };
    },

    /** Keeps the lease of the attempt `owner` alive; false when that attempt no longer holds the job. */
    async extendLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
      const count = await prisma.$executeRaw`
        UPDATE jobs SET lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
        WHERE id = ${id}::uuid AND status = 'running' AND lease_owner = ${owner}::uuid`;
      return count === 1;
    },

    /**
     * Moves an unfinished job to a terminal status and returns the status written: `cancelled`,
     * whatever was asked, when a cancel request was committed first (the race between a cancel and
     * the end of training is decided here, in one statement). Null when it had already ended, or
     * when `owner` is given and that attempt no longer holds the job.
     */
    async finish(
      id: string,
      status: 'completed' | 'failed' | 'cancelled',
      error?: string,
      owner?: string,
    ): Promise<'completed' | 'failed' | 'cancelled' | null> {
      const rows = await prisma.$queryRaw<{ status: 'completed' | 'failed' | 'cancelled' }[]>`
        UPDATE jobs SET
          status = CASE WHEN cancel_requested_at IS NOT NULL THEN 'cancelled' ELSE ${status}::"JobStatus" END,
          error = CASE WHEN cancel_requested_at IS NOT NULL THEN NULL ELSE ${error ?? null} END,
          finished_at = now(), updated_at = now(), lease_expires_at = NULL, lease_owner = NULL,
          duration_ms = ${durationSoFar}
        WHERE id = ${id}::uuid AND status::text NOT IN (${Prisma.join(terminalStatuses)})
          AND (${owner ?? null}::uuid IS NULL OR lease_owner = ${owner ?? null}::uuid)
        RETURNING status::text AS status`;
      const written = rows[0]?.status ?? null;
      if (written) await prisma.checkpoint.deleteMany({ where: { jobId: id } });
      return written;
    },

    /**
     * Cancels a job: a queued one at once, a running one by flagging it for its worker.
     * Returns what happened, or null when the job does not exist.
     */
    async requestCancel(id: string): Promise<'cancelled' | 'requested' | 'finished' | null> {
      const queued = await prisma.job.updateMany({
        where: { id, status: 'queued' },
        data: { status: 'cancelled', finishedAt: new Date(), cancelRequestedAt: new Date() },
      });
      if (queued.count === 1) return 'cancelled';
      const running = await prisma.job.updateMany({
        where: { id, status: 'running' },
        data: { cancelRequestedAt: new Date() },
      });
      if (running.count === 1) return 'requested';
      const job = await prisma.job.findUnique({ where: { id }, select: { status: true } });
      return job ? 'finished' : null;
    },

    /** Which of these jobs someone asked to cancel. */
    async cancelRequested(ids: readonly string[]): Promise<string[]> {
      if (ids.length === 0) return [];
      const rows = await prisma.job.findMany({
        where: { id: { in: [...ids] }, cancelRequestedAt: { not: null } },
        select: { id: true },
      });
      return rows.map((row) => row.id);
    },

    /** Puts a running job back to queued, for an attempt that stops without ending it; not counted as a crash. */
    async handBack(id: string, owner: string): Promise<void> {
      await prisma.job.updateMany({
        where: { id, status: 'running', leaseOwner: owner },
        data: { status: 'queued', handedBack: { increment: 1 }, leaseExpiresAt: null, leaseOwner: null },
      });
    },

    /** Keeps the latest checkpoint of a job, replacing the one before. */
    async saveCheckpoint(id: string, checkpoint: StoredCheckpoint): Promise<void> {
      const data = {
        step: checkpoint.step,
        epoch: checkpoint.epoch,
        state: checkpoint.state as Prisma.InputJsonValue,
        tensors: checkpoint.tensors,
        createdAt: new Date(),
      };
      await prisma.checkpoint.upsert({ where: { jobId: id }, create: { jobId: id, ...data }, update: data });
    },

    async loadCheckpoint(id: string): Promise<StoredCheckpoint | null> {
      return prisma.checkpoint.findUnique({
        where: { jobId: id },
        select: { step: true, epoch: true, state: true, tensors: true },
      });
    },

    /**
     * Makes the record agree with the point an attempt resumes from: steps after `step` and
     * metrics of epochs after `epoch` are removed, so the new attempt writes them exactly once.
     */
    async rewindTo(
      id: string,
      position: { step: number; completedEpochs: number; progressEpoch: number },
    ): Promise<void> {
      await prisma.$transaction([
        prisma.stepLoss.deleteMany({ where: { jobId: id, step: { gt: position.step } } }),
        prisma.epochMetric.deleteMany({ where: { jobId: id, epoch: { gt: position.completedEpochs } } }),
        prisma.job.update({ where: { id }, data: { step: position.step, epoch: position.progressEpoch } }),
      ]);
    },

    /**
     * Jobs Postgres holds as queued, or running without a live lease (their worker is gone),
     * oldest first: the ones the queue must hold a message for.
     */
    async orphaned(
      after?: { createdAt: Date; id: string },
      limit = 500,
    ): Promise<{ id: string; status: JobStatus; createdAt: Date }[]> {
      const from = after ? Prisma.sql`AND (created_at, id) > (${after.createdAt}, ${after.id}::uuid)` : Prisma.empty;
      return prisma.$queryRaw`
        SELECT id::text, status, created_at AS "createdAt" FROM jobs
        WHERE ${unheld} ${from}
        ORDER BY created_at, id LIMIT ${limit}`;
    },

    /** Writes a batch of step losses in one round trip; a step written twice keeps its last value. */
    async recordSteps(id: string, steps: readonly StepRecord[]): Promise<void> {
      if (steps.length === 0) return;
      const numbers = steps.map((step) => step.step);
      const epochs = steps.map((step) => step.epoch);
      const losses = steps.map((step) => step.loss);
      const last = steps[steps.length - 1] as StepRecord;
      await prisma.$executeRaw`
        WITH written AS (
          INSERT INTO step_losses (job_id, step, epoch, loss)
          SELECT ${id}::uuid, s.step, s.epoch, s.loss
          FROM unnest(${numbers}::int[], ${epochs}::int[], ${losses}::float8[]) AS s(step, epoch, loss)
          ON CONFLICT (job_id, step) DO UPDATE SET epoch = EXCLUDED.epoch, loss = EXCLUDED.loss
        )
        UPDATE jobs SET step = GREATEST(step, ${last.step}), epoch = GREATEST(epoch, ${last.epoch}), updated_at = now()
        WHERE id = ${id}::uuid`;
    },

    /** Stores one epoch's metrics, idempotent per (job, epoch), and the job's final and best accuracy. */
    async recordEpoch(id: string, metrics: EpochRecord): Promise<void> {
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
    },

    /**
     * One page of runs, filtered and sorted, with each row's sort key for the next cursor and
     * whether more rows follow.
     */
    async listRuns(query: RunQuery): Promise<{ runs: JobWithEpochs[]; keys: number[]; more: boolean }> {
      const key = sortKeys[query.sort];
      const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
      if (query.statuses?.length) conditions.push(Prisma.sql`status::text IN (${Prisma.join(query.statuses)})`);
      if (query.dataset) conditions.push(Prisma.sql`dataset = ${query.dataset}`);
      if (query.nameContains) {
        const pattern = `%${query.nameContains.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
        conditions.push(Prisma.sql`name ILIKE ${pattern}`);
      }
      if (query.tag) conditions.push(Prisma.sql`tags @> ARRAY[${query.tag}]::text[]`);
      if (query.after) {
        const comparison = query.order === 'desc' ? Prisma.sql`<` : Prisma.sql`>`;
        conditions.push(Prisma.sql`(${key}, id) ${comparison} (${query.after.key}::float8, ${query.after.id}::uuid)`);
      }
      const direction = query.order === 'desc' ? Prisma.sql`DESC` : Prisma.sql`ASC`;
      const rows = await prisma.$queryRaw<{ id: string; sort_key: number }[]>`
        SELECT id, ${key}::float8 AS sort_key FROM jobs
        WHERE ${Prisma.join(conditions, ' AND ')}
        ORDER BY ${key} ${direction}, id ${direction}
        LIMIT ${query.limit + 1}`;
      const more = rows.length > query.limit;
      rows.length = Math.min(rows.length, query.limit);
      return { runs: await findMany(rows.map((row) => row.id)), keys: rows.map((row) => Number(row.sort_key)), more };
    },

    /** Jobs with their epochs, in the order of `ids`; missing ids are left out. */
    findMany,

    /** How many steps a job has recorded, and the last of them (0 when none). */
    historyExtent,

    /**
     * A job's recorded steps after `after` and up to `through` (by default, the last recorded when
     * called), in order, a page at a time, so a long history is never held whole.
     */
    async *historyPages(
      id: string,
      { after = 0, through, pageSize = 5000 }: HistoryRange = {},
    ): AsyncGenerator<StepRecord[]> {
      const last = through ?? (await historyExtent(id)).lastStep;
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
    },
  };
}

export type JobsRepository = ReturnType<typeof createJobsRepository>;
