import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { inPoolTransaction, type PrismaClient } from '../database.js';
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

/** Content hashed and sized as its chunks go by. */
function measuredChunks(content: ArtifactContent, chunkBytes: number) {
  const hash = createHash('sha256');
  const seen = { bytes: 0, sha256: () => hash.digest('hex') };
  async function* chunks(): AsyncGenerator<Buffer<ArrayBuffer>> {
    for await (const chunk of rechunk(content, chunkBytes)) {
      hash.update(chunk);
      seen.bytes += chunk.length;
      yield chunk;
    }
  }
  return { chunks: chunks(), seen };
}

/**
 * Stores `content` as a header row and its chunks in one transaction, through pg: chunks go as binary
 * parameters, where Prisma would send them as text and read each whole row back.
 */
async function putArtifact(prisma: PrismaClient, content: ArtifactContent, chunkBytes: number, timeoutMs: number) {
  const id = randomUUID();
  const { chunks, seen } = measuredChunks(content, chunkBytes);
  const viaPool = await inPoolTransaction(prisma, async (client) => {
    // A stuck statement must not hold the transaction (and its locks) open for ever.
    await client.query(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
    // The header goes first (the chunks refer to it) and gets its hash and size at the end.
    await client.query({
      name: 'trainer_artifact_header',
      text: "INSERT INTO artifacts (id, sha256, bytes, location) VALUES ($1::uuid, '', 0, $2)",
      values: [id, postgresLocation],
    });
    let seq = 0;
    for await (const chunk of chunks) {
      await client.query({
        name: 'trainer_artifact_chunk',
        text: 'INSERT INTO artifact_chunks (artifact_id, seq, data) VALUES ($1::uuid, $2, $3)',
        values: [id, seq++, chunk],
      });
    }
    const sha256 = seen.sha256();
    await client.query({
      name: 'trainer_artifact_sealed',
      text: 'UPDATE artifacts SET sha256 = $2, bytes = $3 WHERE id = $1::uuid',
      values: [id, sha256, seen.bytes],
    });
    return sha256;
  });
  return { id, sha256: viaPool, bytes: seen.bytes };
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

    put: (content: ArtifactContent) => putArtifact(prisma, content, chunkBytes, putTimeoutMs),

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
