import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { PrismaClient } from '../database.js';
import { rechunk, type ArtifactBackend, type ArtifactContent, type ArtifactRecord } from './artifact-store.js';
import { createRoutedArtifactStore, type RoutedArtifactStore } from './routed-artifact-store.js';

export interface PostgresArtifactStoreOptions {
  /** Bytes per `artifact_chunks` row; 1 MiB unless told. */
  chunkBytes?: number;
  /** Longest a put may keep its transaction open; 10 minutes unless told. */
  putTimeoutMs?: number;
}

/** The `location` of artifacts whose bytes are `artifact_chunks` rows. */
export const postgresLocation = 'postgres';

/**
 * Bytes of the content from `offset`, reading only the chunks the range touches, and of them only
 * the bytes it needs. Every chunk of an artifact but its last has the size of its first (whatever
 * `chunkBytes` was when it was written), which places the range.
 */
async function readRange(prisma: PrismaClient, id: string, { offset, length }: { offset: number; length: number }) {
  const [first] = await prisma.$queryRaw<{ bytes: number }[]>`
    SELECT octet_length(data)::int AS bytes FROM artifact_chunks WHERE artifact_id = ${id}::uuid AND seq = 0`;
  if (!first || length <= 0) return Buffer.alloc(0);
  const firstSeq = Math.floor(offset / first.bytes);
  const lastSeq = Math.floor((offset + length - 1) / first.bytes);
  const pieces = await prisma.$queryRaw<{ data: Uint8Array }[]>`
    SELECT substring(data FROM (GREATEST(${offset}::bigint - seq::bigint * ${first.bytes}, 0) + 1)::int FOR ${length}::int) AS data
    FROM artifact_chunks
    WHERE artifact_id = ${id}::uuid AND seq BETWEEN ${firstSeq}::int AND ${lastSeq}::int
    ORDER BY seq`;
  const bytes = Buffer.concat(pieces.map((piece) => piece.data));
  return bytes.subarray(0, Math.min(length, bytes.length));
}

/** The chunks of artifact `id` in order, one query each. */
export async function* chunksOf(prisma: PrismaClient, id: string): AsyncGenerator<Uint8Array> {
  // Artifacts are immutable, so reading chunk by chunk outside a transaction sees one version.
  for (let seq = 0; ; seq++) {
    const chunk = await prisma.artifactChunk.findUnique({
      where: { artifactId_seq: { artifactId: id, seq } },
      select: { data: true },
    });
    if (!chunk) return;
    yield chunk.data;
  }
}

/**
 * The chunks of `artifact`, failing (not ending short) when fewer bytes come than its row records:
 * its chunks went while it was read (moved to object storage, or deleted).
 */
async function* wholeChunksOf(prisma: PrismaClient, artifact: ArtifactRecord): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  for await (const chunk of chunksOf(prisma, artifact.id)) {
    bytes += chunk.length;
    yield chunk;
  }
  if (bytes !== artifact.bytes) {
    throw new Error(`artifact ${artifact.id}: ${bytes} of its ${artifact.bytes} bytes were there to read`);
  }
}

/**
 * Bytes in Postgres: the content in `artifact_chunks` rows of `chunkBytes` under the artifact's row,
 * written in one transaction and read back one chunk at a time.
 */
export function postgresArtifactBackend(
  prisma: PrismaClient,
  options: PostgresArtifactStoreOptions = {},
): ArtifactBackend {
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const putTimeoutMs = options.putTimeoutMs ?? 10 * 60_000;

  return {
    name: postgresLocation,
    holds: (location) => location === postgresLocation,

    async put(content: ArtifactContent) {
      const id = randomUUID();
      const hash = createHash('sha256');
      let bytes = 0;
      let sha256 = '';
      await prisma.$transaction(
        async (transaction) => {
          // The header goes first (the chunks refer to it) and gets its hash and size at the end.
          await transaction.artifact.create({ data: { id, sha256: '', bytes: 0, location: postgresLocation } });
          let seq = 0;
          for await (const chunk of rechunk(content, chunkBytes)) {
            hash.update(chunk);
            bytes += chunk.length;
            await transaction.artifactChunk.create({ data: { artifactId: id, seq: seq++, data: chunk } });
          }
          sha256 = hash.digest('hex');
          await transaction.artifact.update({ where: { id }, data: { sha256, bytes } });
        },
        { timeout: putTimeoutMs, maxWait: 30_000 },
      );
      return { id, sha256, bytes };
    },

    open: (artifact: ArtifactRecord) =>
      Promise.resolve(Readable.from(wholeChunksOf(prisma, artifact), { objectMode: false })),
    read: (artifact, range) => readRange(prisma, artifact.id, range),
    downloadUrl: () => Promise.resolve(null),
  };
}

/** Artifacts in Postgres only: rows in `artifacts`, bytes in `artifact_chunks`. */
export function createPostgresArtifactStore(
  prisma: PrismaClient,
  options: PostgresArtifactStoreOptions = {},
): RoutedArtifactStore {
  return createRoutedArtifactStore(prisma, { writer: postgresArtifactBackend(prisma, options) });
}
