import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifactBytes, rechunk, type ArtifactStore } from '../../../src/store/artifacts/artifact-store.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { describeArtifactStoreContract } from './artifact-store-contract.js';

async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const piece of stream) pieces.push(piece);
  return Buffer.concat(pieces);
}

function* piecesOf(content: Buffer, sizes: number[]): Generator<Uint8Array> {
  let offset = 0;
  for (let index = 0; offset < content.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    yield content.subarray(offset, offset + size);
    offset += size;
  }
}

describe('rechunk', () => {
  it('regroups pieces of any size into pieces of exactly the chunk size, the last one shorter', async () => {
    const content = randomBytes(1000);
    const chunks: Uint8Array[] = [];
    for await (const chunk of rechunk(piecesOf(content, [7, 300, 1, 0, 50]), 128)) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.length)).toEqual([128, 128, 128, 128, 128, 128, 128, 104]);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
  });

  it('yields nothing for empty content', async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of rechunk([new Uint8Array(0)], 16)) chunks.push(chunk);
    expect(chunks).toEqual([]);
  });
});

describe('Postgres artifact store', () => {
  let database: TestDatabase;
  let store: ArtifactStore;
  const chunkBytes = 64 * 1024;
  beforeAll(async () => {
    database = await createTestDatabase('artifacts');
    store = createPostgresArtifactStore(database.prisma, { chunkBytes });
  });
  afterAll(() => database.drop());

  describeArtifactStoreContract('Postgres', () => ({
    store,
    storedPieces: () => database.prisma.artifactChunk.count(),
  }));

  it('stores content in chunk rows and streams back the same bytes with their hash and size', async () => {
    const content = randomBytes(chunkBytes * 3 + 12_345);
    const stored = await store.put(piecesOf(content, [10_000, 70_001]));
    expect(stored.bytes).toBe(content.length);
    expect(stored.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    const rows = await database.prisma.artifactChunk.findMany({
      where: { artifactId: stored.id },
      orderBy: { seq: 'asc' },
    });
    expect(rows.map((row) => row.data.length)).toEqual([chunkBytes, chunkBytes, chunkBytes, 12_345]);

    const stream = await store.open(stored.id);
    expect(stream).not.toBeNull();
    const pieces: number[] = [];
    const read: Uint8Array[] = [];
    for await (const piece of stream as AsyncIterable<Uint8Array>) {
      pieces.push(piece.length);
      read.push(piece);
    }
    expect(Buffer.concat(read).equals(content)).toBe(true);
    // Streamed chunk by chunk, never as one value.
    expect(Math.max(...pieces)).toBeLessThanOrEqual(chunkBytes);

    const info = await store.stat(stored.id);
    expect(info).toMatchObject({ sha256: stored.sha256, bytes: content.length });
    expect(info?.createdAt).toBeInstanceOf(Date);
  });

  it('reads a whole artifact into one buffer on request', async () => {
    const content = randomBytes(chunkBytes + 7);
    const stored = await store.put([content]);
    expect((await readArtifactBytes(store, stored.id))?.equals(content)).toBe(true);
    expect(await readArtifactBytes(store, randomUUID())).toBeNull();
  });

  it('reads any range of an artifact, within a chunk or across several, whatever chunk size wrote it', async () => {
    const content = randomBytes(chunkBytes * 3 + 100);
    const stored = await store.put([content]);
    const ranges: [number, number][] = [
      [0, 10],
      [chunkBytes - 3, 6],
      [chunkBytes * 3 + 90, 10],
      [5, chunkBytes * 3 + 95],
      [chunkBytes * 3 + 95, 50],
      [chunkBytes * 10, 5],
      [17, 0],
    ];
    for (const [offset, length] of ranges) {
      const range = await store.read(stored.id, { offset, length });
      expect(range?.equals(content.subarray(offset, offset + length)), `${offset}+${length}`).toBe(true);
    }
    // Written with other chunks than this store writes: the artifact's own chunks place the range.
    const otherChunks = await createPostgresArtifactStore(database.prisma, { chunkBytes: 1000 }).put([content]);
    const across = await store.read(otherChunks.id, { offset: 1990, length: 30 });
    expect(across?.equals(content.subarray(1990, 2020))).toBe(true);
    expect(await store.read(randomUUID(), { offset: 0, length: 1 })).toBeNull();
    expect((await store.read((await store.put([])).id, { offset: 0, length: 4 }))?.length).toBe(0);
  });

  it('stores empty content as an artifact of zero bytes', async () => {
    const stored = await store.put([]);
    expect(stored).toMatchObject({ bytes: 0, sha256: createHash('sha256').digest('hex') });
    expect((await readAll((await store.open(stored.id))!)).length).toBe(0);
  });

  it('leaves nothing behind when the content fails part way through', async () => {
    const before = await database.prisma.artifactChunk.count();
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield randomBytes(chunkBytes * 2);
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error('source broke');
    }
    await expect(store.put(failing())).rejects.toThrow('source broke');
    expect(await database.prisma.artifactChunk.count()).toBe(before);
    expect(await database.prisma.artifact.count({ where: { sha256: '' } })).toBe(0);
  });

  it('fails a read whose chunks go while it streams (a move to object storage), rather than ending short', async () => {
    const stored = await store.put([randomBytes(chunkBytes * 3)]);
    const stream = (await store.open(stored.id)) as AsyncIterable<Uint8Array>;
    const reading = stream[Symbol.asyncIterator]();
    expect((await reading.next()).value).toHaveLength(chunkBytes);
    await database.prisma.artifactChunk.deleteMany({ where: { artifactId: stored.id } });
    await expect(
      (async () => {
        while (!(await reading.next()).done);
      })(),
    ).rejects.toThrow(`of its ${chunkBytes * 3} bytes were there to read`);
  });

  it('answers null for unknown or malformed ids and deletes artifacts with their chunks', async () => {
    expect(await store.stat(randomUUID())).toBeNull();
    expect(await store.open(randomUUID())).toBeNull();
    expect(await store.stat('not-a-uuid')).toBeNull();
    const first = await store.put([randomBytes(chunkBytes + 1)]);
    const second = await store.put([randomBytes(10)]);
    expect(await store.delete([first.id, randomUUID(), 'junk'])).toBe(1);
    expect(await store.stat(first.id)).toBeNull();
    expect(await database.prisma.artifactChunk.count({ where: { artifactId: first.id } })).toBe(0);
    expect(await store.stat(second.id)).not.toBeNull();
    expect(await store.delete([])).toBe(0);
  });
});
