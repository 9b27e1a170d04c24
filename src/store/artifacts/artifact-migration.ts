import { createHash } from 'node:crypto';
import type { PrismaClient } from '../database.js';
import { rechunk, type ArtifactRecord } from './artifact-store.js';
import { drainArtifactDeletions } from './artifact-deletions.js';
import { chunksOf, postgresLocation } from './postgres-artifact-store.js';
import type { S3Objects } from './s3-artifact-store.js';
import { locationOf, objectAt, objectOf, type S3Target } from './s3-location.js';

/** Where `npm run artifacts:migrate` moves artifacts: into Postgres, or to a bucket and prefix. */
export type MigrationDestination = 'postgres' | S3Target;

export interface MigrationEvents {
  /** After each artifact moved (its bytes verified at the destination, its old copy released). */
  moved?(artifact: ArtifactRecord, done: number, total: number): void;
  /** After an artifact that could not be moved; it stays where it was, for the next run. */
  failed?(artifact: ArtifactRecord, error: unknown, done: number, total: number): void;
}

export interface MigrationSummary {
  moved: number;
  movedBytes: number;
  failed: number;
  /** Artifacts left where they were (failed, or new since the run began). */
  remaining: number;
}

/** The content did not arrive as it was recorded: the copy is dropped and the original kept. */
export class CopyMismatch extends Error {
  constructor(artifact: ArtifactRecord, copied: { sha256: string; bytes: number }) {
    super(
      `artifact ${artifact.id}: the copy has SHA-256 ${copied.sha256} (${copied.bytes} bytes), the record ${artifact.sha256} (${artifact.bytes} bytes)`,
    );
    this.name = 'CopyMismatch';
  }
}

// Grace of a copy's object in the outbox: what a copy that dies midway leaves is deleted then.
const copyGraceMs = 6 * 3_600_000;
const pageSize = 100;

const notAt = (destination: MigrationDestination) =>
  destination === 'postgres' ? { location: { not: postgresLocation } } : { location: postgresLocation };

/** Copies one Postgres artifact to object storage, checks it, then points its row there and drops its chunks. */
async function moveToS3(prisma: PrismaClient, objects: S3Objects, target: S3Target, artifact: ArtifactRecord) {
  const location = locationOf(objectOf(target, artifact.id));
  const notBefore = new Date(Date.now() + copyGraceMs);
  // Parked first: a copy whose process dies, or that fails its check, is deleted by a drain.
  await prisma.artifactDeletion.upsert({ where: { location }, create: { location, notBefore }, update: { notBefore } });
  const copied = await objects.upload(objectOf(target, artifact.id), chunksOf(prisma, artifact.id));
  if (copied.sha256 !== artifact.sha256 || copied.bytes !== artifact.bytes) {
    await prisma.artifactDeletion.update({ where: { location }, data: { notBefore: new Date() } });
    throw new CopyMismatch(artifact, copied);
  }
  await prisma.$transaction(async (transaction) => {
    await transaction.artifactDeletion.deleteMany({ where: { location } });
    const pointed = await transaction.artifact.updateMany({
      where: { id: artifact.id, location: postgresLocation },
      data: { location },
    });
    // Deleted (or moved by another run) meanwhile: the copy is not wanted.
    if (pointed.count === 0) {
      await transaction.artifactDeletion.create({ data: { location } });
      return;
    }
    await transaction.artifactChunk.deleteMany({ where: { artifactId: artifact.id } });
  });
}

/** Copies one object into chunk rows, checks it and points the row at Postgres, in one transaction; the trigger releases the object. */
async function moveToPostgres(prisma: PrismaClient, objects: S3Objects, artifact: ArtifactRecord, chunkBytes: number) {
  const object = objectAt(artifact.location);
  if (!object) throw new Error(`artifact ${artifact.id} is at ${artifact.location}, which names no object`);
  const stream = await objects.get(object);
  if (!stream) throw new Error(`artifact ${artifact.id}: its object ${artifact.location} is missing`);
  await prisma.$transaction(
    async (transaction) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let seq = 0;
      for await (const chunk of rechunk(stream as AsyncIterable<Uint8Array>, chunkBytes)) {
        hash.update(chunk);
        bytes += chunk.length;
        await transaction.artifactChunk.create({ data: { artifactId: artifact.id, seq: seq++, data: chunk } });
      }
      const copied = { sha256: hash.digest('hex'), bytes };
      if (copied.sha256 !== artifact.sha256 || copied.bytes !== artifact.bytes)
        throw new CopyMismatch(artifact, copied);
      const pointed = await transaction.artifact.updateMany({
        where: { id: artifact.id, location: artifact.location },
        data: { location: postgresLocation },
      });
      if (pointed.count === 0) throw new Error(`artifact ${artifact.id} was deleted or moved while it was copied`);
    },
    { timeout: 30 * 60_000, maxWait: 30_000 },
  );
}

/**
 * Moves every artifact not at `destination` there, one at a time: each is copied, its copy checked
 * against its recorded SHA-256 and size, and only then its row pointed at the copy and the old copy
 * dropped, so an interrupted run loses nothing and a rerun picks up what is left. Objects left behind
 * go through the deletion outbox (drained at the end). Safe while the server runs.
 */
export async function migrateArtifacts(
  prisma: PrismaClient,
  objects: S3Objects,
  destination: MigrationDestination,
  events: MigrationEvents = {},
  { chunkBytes = 1024 * 1024 }: { chunkBytes?: number } = {},
): Promise<MigrationSummary> {
  const total = await prisma.artifact.count({ where: notAt(destination) });
  const summary: MigrationSummary = { moved: 0, movedBytes: 0, failed: 0, remaining: 0 };
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await prisma.artifact.findMany({
      where: { ...notAt(destination), id: { gt: after } },
      orderBy: { id: 'asc' },
      take: pageSize,
    });
    for (const row of page) {
      const artifact = { ...row, bytes: Number(row.bytes) };
      after = artifact.id;
      const done = summary.moved + summary.failed + 1;
      try {
        if (destination === 'postgres') await moveToPostgres(prisma, objects, artifact, chunkBytes);
        else await moveToS3(prisma, objects, destination, artifact);
        summary.moved++;
        summary.movedBytes += artifact.bytes;
        events.moved?.(artifact, done, total);
      } catch (error) {
        summary.failed++;
        events.failed?.(artifact, error, done, total);
      }
    }
    if (page.length < pageSize) break;
  }
  // Old objects go now when the store answers, else with the server's next drain.
  await drainArtifactDeletions(prisma, objects.deleteObjects).catch(() => 0);
  summary.remaining = await prisma.artifact.count({ where: notAt(destination) });
  return summary;
}
