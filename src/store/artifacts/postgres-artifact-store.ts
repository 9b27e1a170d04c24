import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { PrismaClient } from '../database.js';
import { rechunk, type ArtifactContent, type ArtifactInfo, type ArtifactStore } from './artifact-store.js';

export interface PostgresArtifactStoreOptions {
  /** Bytes per `artifact_chunks` row; 1 MiB unless told. */
  chunkBytes?: number;
  /** Longest a put may keep its transaction open; 10 minutes unless told. */
  putTimeoutMs?: number;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Bytes of the content from `offset`, reading only the chunks the range touches, and of them only
 * the bytes it needs. Every chunk of an artifact but its last has the size of its first (whatever
 * `chunkBytes` was when it was written), which places the range.
 */
async function readRange(prisma: PrismaClient, id: string, { offset, length }: { offset: number; length: number }) {
  if (!uuidPattern.test(id) || (await prisma.artifact.count({ where: { id } })) === 0) return null;
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

/**
 * Artifacts in Postgres: a header row in `artifacts` and the content in `artifact_chunks` rows of
 * `chunkBytes`, written in one transaction and read back one chunk at a time.
 */
export function createPostgresArtifactStore(
  prisma: PrismaClient,
  options: PostgresArtifactStoreOptions = {},
): ArtifactStore {
  const chunkBytes = options.chunkBytes ?? 1024 * 1024;
  const putTimeoutMs = options.putTimeoutMs ?? 10 * 60_000;

  async function stat(id: string): Promise<ArtifactInfo | null> {
    if (!uuidPattern.test(id)) return null;
    const header = await prisma.artifact.findUnique({ where: { id } });
    return header ? { sha256: header.sha256, bytes: Number(header.bytes), createdAt: header.createdAt } : null;
  }

  async function* chunksOf(id: string): AsyncGenerator<Uint8Array> {
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

  return {
    async put(content: ArtifactContent) {
      const id = randomUUID();
      const hash = createHash('sha256');
      let bytes = 0;
      let sha256 = '';
      await prisma.$transaction(
        async (transaction) => {
          // The header goes first (the chunks refer to it) and gets its hash and size at the end.
          await transaction.artifact.create({ data: { id, sha256: '', bytes: 0 } });
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

    async open(id) {
      if (!(await stat(id))) return null;
      return Readable.from(chunksOf(id), { objectMode: false });
    },

    stat,
    read: (id, range) => readRange(prisma, id, range),

    async delete(ids) {
      const valid = ids.filter((id) => uuidPattern.test(id));
      if (valid.length === 0) return 0;
      // Chunks go with their header (ON DELETE CASCADE).
      const deleted = await prisma.artifact.deleteMany({ where: { id: { in: valid } } });
      return deleted.count;
    },
  };
}
