import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IdxProblem,
  parseIdxHeader,
  readIdx,
  readIdxExample,
  readIdxHeader,
  readIdxValues,
} from '../../../src/datasets/formats/idx.js';
import { idxFile } from '../../helpers/dataset-files.js';

/** `bytes` as a stream of pieces of `size` bytes, as an upload or a file stream hands them over. */
function piecesOf(bytes: Buffer, size: number): AsyncIterator<Buffer> {
  let start = 0;
  return {
    next: () => {
      const piece = bytes.subarray(start, start + size);
      start += size;
      return Promise.resolve(piece.length > 0 ? { done: false, value: piece } : { done: true, value: undefined });
    },
  };
}

const problemOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a problem');
};

describe('parseIdxHeader', () => {
  it('reads the dimensions and where the values start', () => {
    expect(parseIdxHeader(idxFile([3, 2, 4], new Array<number>(24).fill(1)))).toEqual({
      dimensions: [3, 2, 4],
      dataOffset: 16,
    });
  });

  it.each([
    [
      'a wrong magic number',
      Buffer.from([1, 0, 8, 1, 0, 0, 0, 1]),
      {},
      /^byte 0: wrong magic number \(the file starts 01 00 08 01/,
    ],
    [
      'another element type',
      Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1]),
      {},
      /^byte 2: element type 0x0d \(32-bit floats\)/,
    ],
    [
      'a header cut short',
      Buffer.from([0, 0, 8, 2, 0, 0, 0, 1]),
      {},
      /^byte 8: the file ends inside its 12-byte IDX header$/,
    ],
    ['fewer than 4 bytes', Buffer.from([0, 0]), {}, /^byte 2: the file ends inside its 4-byte IDX header$/],
    [
      'a dimension count the rules refuse',
      idxFile([2, 2], [1, 2, 3, 4]),
      { ranks: [1], kind: 'labels' },
      /^byte 3: wrong dimension count: a labels file has 1 dimension \(the count\); this one has 2$/,
    ],
    ['an empty split', idxFile([0], []), {}, /^byte 4: the example count is 0: the split is empty$/],
    ['a dimension of 0 after the count', idxFile([2, 0], []), {}, /^byte 8: dimension 2 is 0$/],
  ])('refuses %s at the byte that shows it', (_, bytes, rules, message) => {
    const problem = problemOf(() => parseIdxHeader(bytes, rules));
    expect(problem).toBeInstanceOf(IdxProblem);
    expect((problem as IdxProblem).message).toMatch(message);
  });
});

describe('the streaming reader', () => {
  it('reads a file handed over a byte at a time exactly as one handed over whole', async () => {
    const values = Array.from({ length: 30 }, (_, index) => index * 7);
    const file = idxFile([5, 3, 2], values);
    for (const size of [1, 3, 17, file.length]) {
      const pieces = piecesOf(file, size);
      const start = await readIdxHeader(pieces, { ranks: [3] });
      expect(start.header).toEqual({ dimensions: [5, 3, 2], dataOffset: 16 });
      const read: number[] = [];
      const offsets: number[] = [];
      await readIdxValues(
        pieces,
        start,
        30,
        (piece, offset) => {
          offsets.push(offset);
          read.push(...piece);
        },
        (count) => `${count} values`,
      );
      expect(read).toEqual(values);
      expect(offsets[0]).toBe(0);
    }
  });

  it('says where a file runs past or stops short of what its header promises', async () => {
    const long = idxFile([4], [1, 2, 3, 4, 5]);
    const longPieces = piecesOf(long, 2);
    const tooLong = await readIdxValues(
      longPieces,
      await readIdxHeader(longPieces),
      4,
      () => {},
      (n) => `${n} labels`,
    ).catch((error: unknown) => error);
    expect((tooLong as IdxProblem).message).toBe('byte 12: the file goes on after the 4 labels its header promises');

    const short = idxFile([4], [1, 2]);
    const shortPieces = piecesOf(short, 3);
    const tooShort = await readIdxValues(
      shortPieces,
      await readIdxHeader(shortPieces),
      4,
      () => {},
      (n) => `${n} labels`,
    ).catch((error: unknown) => error);
    expect((tooShort as IdxProblem).message).toBe(
      'byte 10: the file is shorter than its header says: it ends after 2 of the 4 data bytes (4 labels)',
    );
  });

  it('refuses a stream that ends inside the header', async () => {
    const problem = await readIdxHeader(piecesOf(Buffer.from([0, 0, 8, 1, 0, 0]), 4)).catch((error: unknown) => error);
    expect((problem as IdxProblem).message).toBe('byte 6: the file ends inside its 8-byte IDX header');
  });
});

describe('stored files', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'idx-test-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('reads a whole file, larger than one stream piece, through the streaming reader', async () => {
    const count = 3000;
    const values = Uint8Array.from({ length: count * 28 * 28 }, (_, index) => (index * 31) % 256);
    const file = path.join(directory, 'images');
    await writeFile(file, idxFile([count, 28, 28], values));
    const read = await readIdx(file);
    expect(read.dimensions).toEqual([count, 28, 28]);
    expect(Buffer.from(read.values).equals(Buffer.from(values))).toBe(true);
  });

  it('names the file in a problem', async () => {
    const file = path.join(directory, 'floats');
    await writeFile(file, Buffer.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]));
    await expect(readIdx(file)).rejects.toThrow(`${file}: byte 2: element type 0x0d`);
    await expect(readIdxExample(file, 0)).rejects.toThrow(`${file}: byte 2: element type 0x0d`);
  });

  it('reads one example at its offset, and none past the last', async () => {
    const file = path.join(directory, 'examples');
    await writeFile(file, idxFile([3, 2, 2], [0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23]));
    const second = await readIdxExample(file, 1);
    expect(second && { values: [...second.values], shape: second.shape, count: second.count }).toEqual({
      values: [10, 11, 12, 13],
      shape: [2, 2],
      count: 3,
    });
    expect(await readIdxExample(file, 3)).toBeNull();
    expect(await readIdxExample(file, -1)).toBeNull();
  });
});
