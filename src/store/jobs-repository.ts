import type { JobSpec } from '../spec/job-spec.js';
import type { PrismaClient } from './database.js';
import { Prisma, type EpochMetric, type Job, type JobStatus } from './generated/client.js';

export type { EpochMetric, Job, JobStatus };
export type JobWithEpochs = Job & { epochs: EpochMetric[] };

export const terminalStatuses: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface NewJob {
  id: string;
  spec: JobSpec;
  parameterCount: number;
  totalSteps: number;
}

export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
}

export interface EpochRecord {
  epoch: number;
  testAccuracy: number;
  testLoss: number;
  trainLoss: number;
  durationMs: number;
  samplesPerSecond: number;
}

/** Every read and write of jobs, their epoch metrics and their step losses. */
export function createJobsRepository(prisma: PrismaClient) {
  return {
    /** Inserts a queued job. */
    create(job: NewJob): Promise<JobWithEpochs> {
      return prisma.job.create({
        data: {
          id: job.id,
          name: job.spec.name ?? null,
          dataset: job.spec.dataset,
          spec: job.spec as unknown as Prisma.InputJsonObject,
          parameterCount: job.parameterCount,
          totalSteps: job.totalSteps,
        },
        include: { epochs: { orderBy: { epoch: 'asc' } } },
      });
    },

    find(id: string): Promise<JobWithEpochs | null> {
      return prisma.job.findUnique({ where: { id }, include: { epochs: { orderBy: { epoch: 'asc' } } } });
    },

    /**
     * Marks a queued (or interrupted running) job as running for one more attempt.
     * Returns null when the job is gone or already finished, so a late delivery does nothing.
     */
    async claim(id: string, backend: string): Promise<Job | null> {
      const claimed = await prisma.job.updateManyAndReturn({
        where: { id, status: { in: ['queued', 'running'] } },
        data: { status: 'running', backend, attempts: { increment: 1 }, error: null },
      });
      const job = claimed[0];
      if (!job) return null;
      if (!job.startedAt) {
        return prisma.job.update({ where: { id }, data: { startedAt: new Date() } });
      }
      return job;
    },

    /** Moves an unfinished job to a terminal status; false when it had already ended. */
    async finish(id: string, status: 'completed' | 'failed' | 'cancelled', error?: string): Promise<boolean> {
      const { count } = await prisma.job.updateMany({
        where: { id, status: { notIn: [...terminalStatuses] } },
        data: { status, error: error ?? null, finishedAt: new Date() },
      });
      return count === 1;
    },

    /** Puts a running job back to queued, for a worker that is shutting down. */
    async requeue(id: string): Promise<void> {
      await prisma.job.updateMany({ where: { id, status: 'running' }, data: { status: 'queued' } });
    },

    /** Ids of jobs Postgres holds as queued or running, oldest first, for the reconciler. */
    async unfinished(limit = 1000): Promise<{ id: string; status: JobStatus }[]> {
      return prisma.job.findMany({
        where: { status: { in: ['queued', 'running'] } },
        orderBy: { createdAt: 'asc' },
        take: limit,
        select: { id: true, status: true },
      });
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

    /** Stores one epoch's metrics; idempotent per (job, epoch). */
    async recordEpoch(id: string, metrics: EpochRecord): Promise<void> {
      await prisma.epochMetric.upsert({
        where: { jobId_epoch: { jobId: id, epoch: metrics.epoch } },
        create: { jobId: id, ...metrics },
        update: metrics,
      });
    },

    /** Every recorded step of a job, in order. */
    history(id: string): Promise<StepRecord[]> {
      return prisma.stepLoss.findMany({
        where: { jobId: id },
        orderBy: { step: 'asc' },
        select: { step: true, epoch: true, loss: true },
      });
    },
  };
}

export type JobsRepository = ReturnType<typeof createJobsRepository>;
