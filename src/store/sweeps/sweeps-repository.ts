import type { SweepSpec } from '../../domain/sweeps/sweep-spec.js';
import type { PrismaClient } from '../database.js';
import { Prisma, type Sweep as SweepRow, type SweepDecision } from '../generated/client.js';
import type { SweepStatus } from '../generated/enums.js';
import { newJobRow, toJob, withEpochs, type JobWithEpochs, type NewJob } from '../jobs/rows.js';

export type { SweepDecision, SweepStatus };

/** A sweep as the store returns it; `spec` is the parsed sweep spec it was created with. */
export type Sweep = Omit<SweepRow, 'spec'> & { spec: SweepSpec };

export interface NewDecision {
  sweepId: string;
  jobId: string;
  epoch: number;
  rule: string;
  value: number;
  stop: boolean;
  reason: string | null;
}

function toSweep(row: SweepRow): Sweep {
  // Written by `create` from a parsed spec and never changed: read back as it was written.
  return { ...row, spec: row.spec as unknown as SweepSpec };
}

type NewRun = Omit<NewJob, 'owner'> & { sweep: { id: string; index: number } };

/** GET /sweeps's page: newest first, keyed by (createdAt, id) so equal times still page exactly. */
export interface SweepQuery {
  /** Only this owner's sweeps; every owner's when absent. */
  owner?: string;
  /** The (createdAt in ms, id) of the last sweep of the previous page. */
  after?: { createdAt: number; id: string };
  limit: number;
}

async function launchRun(prisma: PrismaClient, leaseOwner: string, job: NewRun): Promise<JobWithEpochs | null> {
  try {
    return await prisma.$transaction(async (tx) => {
      const held = await tx.$queryRaw<{ owner: string }[]>`
        SELECT owner FROM sweeps
        WHERE id = ${job.sweep.id}::uuid AND status = 'running' AND lease_owner = ${leaseOwner}::uuid FOR UPDATE`;
      const sweepOwner = held[0]?.owner;
      if (sweepOwner === undefined) return null;
      // A run is its sweep owner's job: it shows to that owner and counts against its quotas.
      return toJob(await tx.job.create({ data: newJobRow({ ...job, owner: sweepOwner }), include: withEpochs }));
    });
  } catch (error) {
    // P2002: the (sweep_id, sweep_index) index refused a second run at this index.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') return null;
    throw error;
  }
}

/** A page of sweeps, newest first, after `after` (the last of the previous page), of one owner or all. */
async function listSweeps(prisma: PrismaClient, query: SweepQuery): Promise<{ sweeps: Sweep[]; more: boolean }> {
  const { owner, after, limit } = query;
  const afterWhere = after && {
    OR: [
      { createdAt: { lt: new Date(after.createdAt) } },
      { createdAt: new Date(after.createdAt), id: { lt: after.id } },
    ],
  };
  const rows = await prisma.sweep.findMany({
    where: { ...(owner === undefined ? {} : { owner }), ...afterWhere },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit + 1,
  });
  return { sweeps: rows.slice(0, limit).map(toSweep), more: rows.length > limit };
}

async function holdLeases(prisma: PrismaClient, owner: string, leaseMs: number): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    UPDATE sweeps SET lease_owner = ${owner}::uuid, lease_expires_at = now() + make_interval(secs => ${leaseMs / 1000})
    WHERE status = 'running'
      AND (lease_owner = ${owner}::uuid OR lease_expires_at IS NULL OR lease_expires_at < now())
    RETURNING id::text AS id`;
  return rows.map((row) => row.id);
}

/** A sweep's row, its runs (jobs linked by sweep_id) and its early-termination decisions. */
export function createSweepsRepository(prisma: PrismaClient) {
  return {
    /** Stores a new running sweep of `owner` (the column's default, "local", when absent). */
    async create(sweep: { id: string; spec: SweepSpec; runCount: number; owner?: string }): Promise<Sweep> {
      const spec = JSON.parse(JSON.stringify(sweep.spec)) as Prisma.InputJsonObject;
      const { id, runCount, owner } = sweep;
      return toSweep(
        await prisma.sweep.create({
          data: { id, name: sweep.spec.name, spec, runCount, ...(owner === undefined ? {} : { owner }) },
        }),
      );
    },

    /** The sweep; with `owner`, only that owner's (another owner's is null, like a missing one). */
    async find(id: string, owner?: string): Promise<Sweep | null> {
      const row = await prisma.sweep.findFirst({ where: { id, ...(owner === undefined ? {} : { owner }) } });
      return row && toSweep(row);
    },

    list: (query: SweepQuery) => listSweeps(prisma, query),

    /** The sweep's runs with their epochs, by index. */
    async runs(sweepId: string): Promise<JobWithEpochs[]> {
      const rows = await prisma.job.findMany({
        where: { sweepId },
        include: withEpochs,
        orderBy: { sweepIndex: 'asc' },
      });
      return rows.map(toJob);
    },

    /**
     * Takes or keeps the lease on every running sweep that no other live driver holds, and returns
     * the ids `owner` holds now. Lease times come from the database's clock.
     */
    holdLeases: (owner: string, leaseMs: number) => holdLeases(prisma, owner, leaseMs),

    /**
     * Creates run `job.sweep.index` of a running sweep held by `leaseOwner`, as a job of the sweep's
     * owner, or returns null when the sweep is no longer running or no longer held by `leaseOwner`,
     * or that run exists already. The sweep's row is locked meanwhile, so a cancel either sees the
     * run or stops it being created.
     */
    launchRun: (leaseOwner: string, job: NewRun) => launchRun(prisma, leaseOwner, job),

    async decisions(sweepId: string): Promise<SweepDecision[]> {
      return prisma.sweepDecision.findMany({ where: { sweepId }, orderBy: [{ createdAt: 'asc' }, { jobId: 'asc' }] });
    },

    /** Records a decision once; false when one was already taken for that run and epoch. */
    async recordDecision(decision: NewDecision): Promise<boolean> {
      const count = await prisma.$executeRaw`
        INSERT INTO sweep_decisions (job_id, epoch, sweep_id, rule, value, stop, reason)
        VALUES (${decision.jobId}::uuid, ${decision.epoch}, ${decision.sweepId}::uuid, ${decision.rule},
          ${decision.value}, ${decision.stop}, ${decision.reason})
        ON CONFLICT (job_id, epoch) DO NOTHING`;
      return count === 1;
    },

    /** Notes why a run is about to be cancelled; the cancel itself goes through the jobs repository. */
    async setCancelReason(jobId: string, reason: string): Promise<void> {
      await prisma.job.updateMany({
        where: { id: jobId, status: { in: ['queued', 'running'] }, cancelReason: null },
        data: { cancelReason: reason },
      });
    },

    /** Ends a running sweep with `status`; false when it had already ended. Locks its row like `launchRun`. */
    async end(sweepId: string, status: 'completed' | 'cancelled'): Promise<boolean> {
      const count = await prisma.$executeRaw`
        UPDATE sweeps SET status = ${status}::"SweepStatus", finished_at = now(), updated_at = now(),
          lease_owner = NULL, lease_expires_at = NULL
        WHERE id = ${sweepId}::uuid AND status = 'running'`;
      return count === 1;
    },
  };
}

export type SweepsRepository = ReturnType<typeof createSweepsRepository>;
