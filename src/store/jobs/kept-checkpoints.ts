import { z } from 'zod';
import { queryRows, type PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import { newJobColumns, toJobsWithEpochs } from './job-select.js';
import { insertJobs, type JobWithEpochs, type NewJob } from './rows.js';

/** A kept checkpoint as listed: where training stood and what it costs. */
export interface KeptCheckpointSummary {
  epoch: number;
  step: number;
  bytes: number;
  createdAt: Date;
}

/** A kept checkpoint with what loading it needs: its artifact and the layout of its tensors. */
export interface KeptCheckpoint extends KeptCheckpointSummary {
  artifactId: string;
  /** A JSON object (src/worker/checkpoint-codec.ts). */
  state: unknown;
}

/** A checkpoint to keep: its tensors already stored as artifact `artifactId`. */
export interface NewKeptCheckpoint {
  epoch: number;
  step: number;
  artifactId: string;
  bytes: number;
  state: unknown;
  /** What the best epoch is chosen by (validation accuracy, else test accuracy); null when unknown. */
  score: number | null;
}

/** Which of the parent's state a fork starts from besides its weights (always). */
export interface ForkResumed {
  optimizerState: boolean;
  dataOrder: boolean;
}

/** Where a forked job starts; `checkpoint` is null once the child no longer needs it (its pin is released). */
export interface ForkStart extends ForkResumed {
  parentJobId: string;
  parentEpoch: number;
  parentStep: number;
  checkpoint: { artifactId: string; state: unknown } | null;
}

/** A fork of a job, as its parent lists it. */
export interface ForkChild {
  jobId: string;
  epoch: number;
  step: number;
}

/** A new job forked from `parentJobId` at its kept `parentEpoch`. */
export interface NewFork extends ForkResumed {
  job: NewJob;
  parentJobId: string;
  parentEpoch: number;
  /** With an Idempotency-Key: the key as stored and the hash of the request. */
  key?: { key: string; bodyHash: string };
}

/** The checkpoints runs keep per finished epoch, and the forks that start from them. */
export interface KeptCheckpointsRepository {
  /**
   * Keeps an epoch's checkpoint, then lets go of those outside the retention: all but the last
   * `keepLast` epochs and the best. A fork's pin on its parent's checkpoint is released once it
   * keeps one of its own.
   */
  keepCheckpoint: (jobId: string, checkpoint: NewKeptCheckpoint, keepLast: number) => Promise<void>;
  /** A job's kept checkpoints, in epoch order; `best` marks its best epoch's. */
  listKeptCheckpoints: (jobId: string) => Promise<(KeptCheckpointSummary & { best: boolean })[]>;
  /** The kept checkpoint of the latest epoch, or null. */
  latestKeptCheckpoint: (jobId: string) => Promise<KeptCheckpoint | null>;
  /** Where a forked job starts, or null for a job that is no fork. */
  forkStart: (jobId: string) => Promise<ForkStart | null>;
  /** The forks of a job, oldest first; with `owner`, only that owner's. */
  forksOf: (jobId: string, owner?: string) => Promise<ForkChild[]>;
  /**
   * Inserts a queued job forked from a kept checkpoint, with its fork row pinning that checkpoint
   * (and its idempotency key): all or nothing, in one statement. `expired` when the parent keeps no
   * checkpoint of that epoch (any more); `key-taken` when the key was used before.
   */
  createFork: (fork: NewFork) => Promise<{ job: JobWithEpochs } | { outcome: 'expired' | 'key-taken' }>;
}

const checkpointState = z.record(z.string(), z.json());

const summaryRow = z.object({ epoch: z.int(), step: z.int(), bytes: z.coerce.number(), createdAt: z.date() });
const keptRow = summaryRow.extend({ artifactId: z.string(), state: z.record(z.string(), z.unknown()) });
const forkRow = z.object({
  parentJobId: z.string(),
  parentEpoch: z.int(),
  parentStep: z.int(),
  optimizerState: z.boolean(),
  dataOrder: z.boolean(),
  artifactId: z.string().nullable(),
  state: z.record(z.string(), z.unknown()).nullable(),
});

async function keepCheckpoint(
  prisma: PrismaClient,
  jobId: string,
  checkpoint: NewKeptCheckpoint,
  keepLast: number,
): Promise<void> {
  const state = JSON.stringify(checkpointState.parse(checkpoint.state));
  // Replacing or deleting a row releases its artifact (a trigger), unless a fork still pins it.
  await prisma.$transaction([
    prisma.$executeRaw`
      INSERT INTO kept_checkpoints (job_id, epoch, step, artifact_id, bytes, state, score)
      VALUES (${jobId}::uuid, ${checkpoint.epoch}, ${checkpoint.step}, ${checkpoint.artifactId}::uuid,
        ${checkpoint.bytes}, ${state}::jsonb, ${checkpoint.score})
      ON CONFLICT (job_id, epoch) DO UPDATE SET step = EXCLUDED.step, artifact_id = EXCLUDED.artifact_id,
        bytes = EXCLUDED.bytes, state = EXCLUDED.state, score = EXCLUDED.score, created_at = now()`,
    // The latest of equal scores is the best, as for the job's best model.
    prisma.$executeRaw`
      DELETE FROM kept_checkpoints k
      WHERE k.job_id = ${jobId}::uuid
        AND k.epoch NOT IN (
          SELECT epoch FROM kept_checkpoints WHERE job_id = ${jobId}::uuid ORDER BY epoch DESC LIMIT ${keepLast})
        AND k.epoch NOT IN (
          SELECT epoch FROM kept_checkpoints WHERE job_id = ${jobId}::uuid
          ORDER BY score DESC NULLS LAST, epoch DESC LIMIT 1)`,
    prisma.$executeRaw`
      UPDATE job_forks SET artifact_id = NULL, state = NULL WHERE job_id = ${jobId}::uuid AND artifact_id IS NOT NULL`,
  ]);
}

async function listKeptCheckpoints(prisma: PrismaClient, jobId: string) {
  return z.array(summaryRow.extend({ best: z.boolean() })).parse(
    await prisma.$queryRaw`
      SELECT epoch, step, bytes, created_at AS "createdAt",
        epoch = first_value(epoch) OVER (ORDER BY score DESC NULLS LAST, epoch DESC) AS best
      FROM kept_checkpoints
      WHERE job_id = ${jobId}::uuid ORDER BY epoch`,
  );
}

async function latestKeptCheckpoint(prisma: PrismaClient, jobId: string): Promise<KeptCheckpoint | null> {
  const [row] = z
    .array(keptRow)
    .max(1)
    .parse(
      await prisma.$queryRaw`
        SELECT epoch, step, bytes, created_at AS "createdAt", artifact_id::text AS "artifactId", state
        FROM kept_checkpoints WHERE job_id = ${jobId}::uuid ORDER BY epoch DESC LIMIT 1`,
    );
  return row ?? null;
}

async function forkStart(prisma: PrismaClient, jobId: string): Promise<ForkStart | null> {
  const [row] = z
    .array(forkRow)
    .max(1)
    .parse(
      await prisma.$queryRaw`
        SELECT parent_job_id::text AS "parentJobId", parent_epoch AS "parentEpoch", parent_step AS "parentStep",
          optimizer_state AS "optimizerState", data_order AS "dataOrder", artifact_id::text AS "artifactId", state
        FROM job_forks WHERE job_id = ${jobId}::uuid`,
    );
  if (!row) return null;
  const { artifactId, state, ...fork } = row;
  return { ...fork, checkpoint: artifactId !== null && state !== null ? { artifactId, state } : null };
}

async function forksOf(prisma: PrismaClient, jobId: string, owner?: string): Promise<ForkChild[]> {
  const ownerCondition = owner === undefined ? Prisma.empty : Prisma.sql`AND j.owner = ${owner}`;
  return z.array(z.object({ jobId: z.string(), epoch: z.int(), step: z.int() })).parse(
    await prisma.$queryRaw`
      SELECT f.job_id::text AS "jobId", f.parent_epoch AS epoch, f.parent_step AS step
      FROM job_forks f JOIN jobs j ON j.id = f.job_id
      WHERE f.parent_job_id = ${jobId}::uuid ${ownerCondition} ORDER BY f.created_at, f.job_id`,
  );
}

// One statement: the parent's kept row is locked (FOR SHARE) while the fork's pin on its artifact
// is written, so retention deleting it at the same moment either waits and then sees the pin (and
// keeps the artifact), or commits first and this inserts nothing. The key, job and fork rows are
// inserted all or none; their references are checked at the end of the statement.
async function createFork(prisma: PrismaClient, fork: NewFork) {
  const { job, key } = fork;
  const keyRows = JSON.stringify(key ? [{ key: key.key, body_hash: key.bodyHash, job_id: job.id }] : []);
  const rows = await queryRows(
    prisma,
    Prisma.sql`
      WITH source AS (
        SELECT step, artifact_id, state FROM kept_checkpoints
        WHERE job_id = ${fork.parentJobId}::uuid AND epoch = ${fork.parentEpoch}
        FOR SHARE
      ), taken AS (
        INSERT INTO idempotency_keys (key, body_hash, job_id)
        SELECT k.key, k.body_hash, k.job_id FROM jsonb_to_recordset(${keyRows}::jsonb) AS k(key text, body_hash text, job_id uuid)
        WHERE EXISTS (SELECT 1 FROM source)
        ON CONFLICT (key) DO NOTHING RETURNING job_id
      ), inserted AS (
        ${insertJobs(
          [job],
          key ? Prisma.sql`r.id IN (SELECT job_id FROM taken)` : Prisma.sql`EXISTS (SELECT 1 FROM source)`,
        )}
        RETURNING ${newJobColumns}
      ), forked AS (
        INSERT INTO job_forks (job_id, parent_job_id, parent_epoch, parent_step, optimizer_state, data_order,
          artifact_id, state)
        SELECT i.id::uuid, ${fork.parentJobId}::uuid, ${fork.parentEpoch}, s.step, ${fork.optimizerState},
          ${fork.dataOrder}, s.artifact_id, s.state
        FROM inserted i, source s
      )
      SELECT * FROM inserted`,
  );
  const [created] = toJobsWithEpochs(rows);
  if (created) return { job: created };
  const kept = await prisma.keptCheckpoint.count({ where: { jobId: fork.parentJobId, epoch: fork.parentEpoch } });
  return { outcome: kept > 0 && key ? ('key-taken' as const) : ('expired' as const) };
}

export function createKeptCheckpointsRepository(prisma: PrismaClient): KeptCheckpointsRepository {
  return {
    keepCheckpoint: (jobId, checkpoint, keepLast) => keepCheckpoint(prisma, jobId, checkpoint, keepLast),
    listKeptCheckpoints: (jobId) => listKeptCheckpoints(prisma, jobId),
    latestKeptCheckpoint: (jobId) => latestKeptCheckpoint(prisma, jobId),
    forkStart: (jobId) => forkStart(prisma, jobId),
    forksOf: (jobId, owner) => forksOf(prisma, jobId, owner),
    createFork: (fork) => createFork(prisma, fork),
  };
}
