import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readArtifactBytes, type ArtifactStore } from '../../../src/store/artifacts/artifact-store.js';

/** What a contract run needs of a backend: the store, and how much of the backend's storage is in use. */
export interface ContractSubject {
  store: ArtifactStore;
  /** Stored pieces of content (chunk rows, objects) after whatever cleanup the backend does on its own. */
  storedPieces(): Promise<number>;
}

export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const pieces: Uint8Array[] = [];
  for await (const piece of stream) pieces.push(piece);
  return Buffer.concat(pieces);
}

export function* piecesOf(content: Buffer, sizes: number[]): Generator<Uint8Array> {
  let offset = 0;
  for (let index = 0; offset < content.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    yield content.subarray(offset, offset + size);
    offset += size;
  }
}

const sha256 = (content: Uint8Array) => createHash('sha256').update(content).digest('hex');

/**
 * The ArtifactStore contract, one suite for every backend: what callers may rely on whichever store
 * holds the bytes. `subject` is called once the suite's `beforeAll`s have run.
 */
export function describeArtifactStoreContract(backend: string, subject: () => ContractSubject): void {
  describe(`ArtifactStore contract (${backend})`, () => {
    it('streams back the bytes it stored, put in pieces of any size, with their SHA-256 and size', async () => {
      const { store } = subject();
      const content = randomBytes(300_000);
      const stored = await store.put(piecesOf(content, [10_000, 70_001, 1]));
      expect(stored).toMatchObject({ bytes: content.length, sha256: sha256(content) });
      expect((await readAll((await store.open(stored.id))!)).equals(content)).toBe(true);
      const info = await store.stat(stored.id);
      expect(info).toMatchObject({ sha256: stored.sha256, bytes: content.length });
      expect(info?.createdAt).toBeInstanceOf(Date);
      expect((await readArtifactBytes(store, stored.id))?.equals(content)).toBe(true);
    });

    it('stores an artifact larger than one multipart part (5 MiB) and reads ranges across part boundaries', async () => {
      const { store } = subject();
      const part = 5 * 1024 * 1024;
      const content = randomBytes(2 * part + 123_457);
      const stored = await store.put(piecesOf(content, [1024 * 1024 + 7]));
      expect(stored).toMatchObject({ bytes: content.length, sha256: sha256(content) });
      const ranges: [number, number][] = [
        [0, 10],
        [part - 3, 6],
        [2 * part - 1, 2],
        [content.length - 10, 10],
        [content.length - 5, 50],
        [content.length + 10, 5],
        [17, 0],
      ];
      for (const [offset, length] of ranges) {
        const range = await store.read(stored.id, { offset, length });
        expect(range?.equals(content.subarray(offset, offset + length)), `${offset}+${length}`).toBe(true);
      }
      const streamed = await readAll((await store.open(stored.id))!);
      expect(sha256(streamed)).toBe(stored.sha256);
    });

    it('stores empty content as an artifact of zero bytes', async () => {
      const { store } = subject();
      const stored = await store.put([]);
      expect(stored).toMatchObject({ bytes: 0, sha256: sha256(new Uint8Array(0)) });
      expect((await readAll((await store.open(stored.id))!)).length).toBe(0);
      expect((await store.read(stored.id, { offset: 0, length: 4 }))?.length).toBe(0);
      expect(await store.stat(stored.id)).toMatchObject({ bytes: 0 });
    });

    it('answers null for unknown and malformed ids, and deletes only what exists', async () => {
      const { store } = subject();
      for (const id of [randomUUID(), 'not-a-uuid', '../etc/passwd']) {
        expect(await store.stat(id)).toBeNull();
        expect(await store.open(id)).toBeNull();
        expect(await store.read(id, { offset: 0, length: 1 })).toBeNull();
        expect(await store.downloadUrl(id, 60)).toBeNull();
      }
      const first = await store.put([randomBytes(70_000)]);
      const second = await store.put([randomBytes(10)]);
      expect(await store.delete([first.id, randomUUID(), 'junk'])).toBe(1);
      expect(await store.stat(first.id)).toBeNull();
      expect(await store.open(first.id)).toBeNull();
      expect(await store.stat(second.id)).not.toBeNull();
      expect(await store.delete([first.id])).toBe(0);
      expect(await store.delete([])).toBe(0);
    });

    it('keeps concurrent puts apart', async () => {
      const { store } = subject();
      const contents = Array.from({ length: 8 }, (_, index) => randomBytes(20_000 + index * 7_001));
      const stored = await Promise.all(contents.map((content) => store.put(piecesOf(content, [4096]))));
      expect(new Set(stored.map((artifact) => artifact.id)).size).toBe(contents.length);
      for (const [index, artifact] of stored.entries()) {
        expect((await readArtifactBytes(store, artifact.id))?.equals(contents[index] ?? Buffer.alloc(0))).toBe(true);
      }
    });

    it('leaves nothing behind when the content fails part way, and nothing once its artifacts are deleted', async () => {
      const current = subject();
      const { store } = current;
      const before = await current.storedPieces();
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield randomBytes(6 * 1024 * 1024);
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new Error('source broke');
      }
      await expect(store.put(failing())).rejects.toThrow('source broke');
      const kept = await store.put([randomBytes(100)]);
      expect(await current.storedPieces()).toBe(before + 1);
      await store.delete([kept.id]);
      expect(await current.storedPieces()).toBe(before);
    });
  });
}
