import { z } from 'zod';
import type { PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';

/** A checkpoint as the store keeps it: its position, a JSON description and a binary blob. */
export interface StoredCheckpoint {
  step: number;
  epoch: number;
  /** A JSON object (checked when saved). */
  state: unknown;
  tensors: Uint8Array<ArrayBuffer>;
}

/** The latest training state of each unfinished job, so another attempt resumes instead of restarting. */
export interface CheckpointsRepository {
  /** Keeps the latest checkpoint of a job, replacing the one before. */
  saveCheckpoint: (id: string, checkpoint: StoredCheckpoint) => Promise<void>;
  /** The latest checkpoint of a job, or null when it has none. */
  loadCheckpoint: (id: string) => Promise<StoredCheckpoint | null>;
}

// The JSON column takes a JSON object; anything else is a bug in the caller, reported when it is saved.
const checkpointState = z.record(z.string(), z.json());

async function saveCheckpoint(prisma: PrismaClient, id: string, checkpoint: StoredCheckpoint): Promise<void> {
  const data = {
    step: checkpoint.step,
    epoch: checkpoint.epoch,
    state: checkpointState.parse(checkpoint.state),
    tensors: checkpoint.tensors,
    createdAt: new Date(),
  };
  await prisma.checkpoint.upsert({ where: { jobId: id }, create: { jobId: id, ...data }, update: data });
}

function loadCheckpoint(prisma: PrismaClient, id: string): Promise<StoredCheckpoint | null> {
  return prisma.checkpoint.findUnique({
    where: { jobId: id },
    select: { step: true, epoch: true, state: true, tensors: true },
  });
}

/**
 * Removes a job's checkpoint, once the job has ended and can no longer resume, and releases a fork's
 * pin on the checkpoint it started from. Its kept checkpoints stay.
 */
export async function discardCheckpoint(prisma: PrismaClient, id: string): Promise<void> {
  await prisma.$transaction([
    prisma.checkpoint.deleteMany({ where: { jobId: id } }),
    prisma.jobFork.updateMany({
      where: { jobId: id, artifactId: { not: null } },
      data: { artifactId: null, state: Prisma.DbNull },
    }),
  ]);
}

export function createCheckpointsRepository(prisma: PrismaClient): CheckpointsRepository {
  return {
    saveCheckpoint: (id, checkpoint) => saveCheckpoint(prisma, id, checkpoint),
    loadCheckpoint: (id) => loadCheckpoint(prisma, id),
  };
}
