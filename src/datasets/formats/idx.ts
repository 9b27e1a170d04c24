import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

// IDX files (the MNIST format): a big-endian header (two zero bytes, the element type, the dimension
// count, then each dimension as 32 bits), then the values, row-major. This is the one reader of them:
// uploads stream through it as they arrive (ingestion/idx-upload.ts adds their limits and the spool),
// and training and the example pictures read the bundled files with it. Only unsigned bytes (0x08)
// are read, and the first dimension counts the examples, so no dimension may be 0.

/** Why bytes are not an IDX file this reader takes: the byte where that shows, and the reason. */
export class IdxProblem extends Error {
  constructor(
    readonly byte: number,
    readonly reason: string,
  ) {
    super(`byte ${byte}: ${reason}`);
    this.name = 'IdxProblem';
  }
}

/** What a file must be beyond the format itself: its dimension counts, and what it holds (for messages). */
export interface IdxRules {
  ranks?: readonly number[];
  kind?: string;
}

/** The dimensions of an unsigned-byte IDX file and where its values start. */
export interface IdxHeader {
  dimensions: number[];
  dataOffset: number;
}

const unsignedBytes = 0x08;

const elementTypes: Record<number, string> = {
  0x08: 'unsigned bytes',
  0x09: 'signed bytes',
  0x0b: '16-bit integers',
  0x0c: '32-bit integers',
  0x0d: '32-bit floats',
  0x0e: '64-bit floats',
};

const hex = (value: number) => `0x${value.toString(16).padStart(2, '0')}`;

const product = (dimensions: readonly number[]) => dimensions.reduce((total, dimension) => total * dimension, 1);

/** The largest header there is: 255 dimensions. */
const longestHeader = 4 + 255 * 4;

const endsInsideHeader = (received: number, length: number) =>
  new IdxProblem(received, `the file ends inside its ${length}-byte IDX header`);

/** Checks the first 4 bytes (magic, element type, dimension count) and says how long the whole header is. */
export function idxHeaderLength(head: Uint8Array, { ranks, kind = 'IDX' }: IdxRules = {}): number {
  if (head.length < 4) throw endsInsideHeader(head.length, 4);
  if (head[0] !== 0 || head[1] !== 0) {
    const start = [...head.subarray(0, 4)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
    throw new IdxProblem(
      0,
      `wrong magic number (the file starts ${start}; an IDX file starts 00 00 08 and its dimension count)`,
    );
  }
  const type = head[2] as number;
  if (type !== unsignedBytes) {
    const name = elementTypes[type] ?? 'an unknown type';
    throw new IdxProblem(2, `element type ${hex(type)} (${name}) is not supported; only unsigned bytes (0x08) are`);
  }
  const rank = head[3] as number;
  if (ranks && !ranks.includes(rank)) {
    const wanted =
      ranks.length === 1
        ? `${ranks[0]} dimension (the count)`
        : `${ranks[0]} to ${ranks.at(-1)} dimensions (the count, then one example's shape)`;
    throw new IdxProblem(3, `wrong dimension count: a ${kind} file has ${wanted}; this one has ${rank}`);
  }
  return 4 + rank * 4;
}

/** The header at the start of `bytes`, which must hold all of it; refuses what `rules` and the format do not allow. */
export function parseIdxHeader(bytes: Uint8Array, rules: IdxRules = {}): IdxHeader {
  const dataOffset = idxHeaderLength(bytes, rules);
  if (bytes.length < dataOffset) throw endsInsideHeader(bytes.length, dataOffset);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dimensions: number[] = [];
  for (let index = 0; index < (dataOffset - 4) / 4; index++) {
    const size = view.getUint32(4 + index * 4);
    if (size === 0) {
      const what = index === 0 ? 'the example count is 0: the split is empty' : `dimension ${index + 1} is 0`;
      throw new IdxProblem(4 + index * 4, what);
    }
    dimensions.push(size);
  }
  return { dimensions, dataOffset };
}

/** An IDX file being read as a stream: its header, and what of the piece that ended the header came after it. */
export interface IdxStart {
  header: IdxHeader;
  rest: Buffer;
}

/** Pulls pieces until `bytes` are there, or fails with the position where the file ended. */
async function gather(pieces: AsyncIterator<Buffer>, held: Buffer, bytes: number): Promise<Buffer> {
  let buffer = held;
  while (buffer.length < bytes) {
    const next = await pieces.next();
    if (next.done) throw endsInsideHeader(buffer.length, bytes);
    buffer = Buffer.concat([buffer, next.value]);
  }
  return buffer;
}

/** Reads the header from the first of `pieces`, refusing a file as soon as a byte shows it is not one `rules` allow. */
export async function readIdxHeader(pieces: AsyncIterator<Buffer>, rules: IdxRules = {}): Promise<IdxStart> {
  const head = await gather(pieces, Buffer.alloc(0), 4);
  const whole = await gather(pieces, head, idxHeaderLength(head, rules));
  const header = parseIdxHeader(whole, rules);
  return { header, rest: whole.subarray(header.dataOffset) };
}

/**
 * Streams the values after the header into `sink` (each piece with the count of values before it),
 * checking there are exactly `expected`; `describe` names a count of values in messages ("12 labels").
 */
export async function readIdxValues(
  pieces: AsyncIterator<Buffer>,
  { header, rest }: IdxStart,
  expected: number,
  sink: (piece: Buffer, offset: number) => Promise<void> | void,
  describe: (values: number) => string,
): Promise<void> {
  let received = 0;
  let piece: Buffer | undefined = rest;
  while (piece) {
    if (received + piece.length > expected) {
      throw new IdxProblem(
        header.dataOffset + expected,
        `the file goes on after the ${describe(expected)} its header promises`,
      );
    }
    if (piece.length > 0) await sink(piece, received);
    received += piece.length;
    const next = await pieces.next();
    piece = next.done ? undefined : next.value;
  }
  if (received < expected) {
    throw new IdxProblem(
      header.dataOffset + received,
      `the file is shorter than its header says: it ends after ${received} of the ${expected} data bytes (${describe(expected)})`,
    );
  }
}

/** A problem of the file at `path` as an error naming it; other errors as they are. */
function naming(path: string): (error: unknown) => never {
  return (error) => {
    throw error instanceof IdxProblem ? new Error(`${path}: ${error.message}`) : error;
  };
}

/** Reads a whole IDX file, streamed through the same reader as uploads: its dimensions and all its values. */
export async function readIdx(path: string): Promise<{ dimensions: number[]; values: Uint8Array }> {
  const pieces: AsyncIterator<Buffer> = createReadStream(path, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]();
  try {
    const start = await readIdxHeader(pieces);
    const { dimensions } = start.header;
    const values = new Uint8Array(product(dimensions));
    const sink = (piece: Buffer, offset: number) => values.set(piece, offset);
    await readIdxValues(pieces, start, values.length, sink, (count) => `${count} values`);
    return { dimensions, values };
  } catch (error) {
    return naming(path)(error);
  } finally {
    await pieces.return?.();
  }
}

/** The header of an open file, read in one go (it is never longer than `longestHeader`). */
async function headerOf(file: FileHandle): Promise<IdxHeader> {
  const start = Buffer.alloc(longestHeader);
  const { bytesRead } = await file.read(start, 0, start.length, 0);
  return parseIdxHeader(start.subarray(0, bytesRead));
}

/**
 * Example `index` of an IDX file (its first dimension counts the examples): the bytes of that one
 * example, read at their offset, so nothing else of the file is loaded. Null past the last example.
 */
export async function readIdxExample(
  path: string,
  index: number,
): Promise<{ values: Uint8Array; shape: number[]; count: number } | null> {
  const file = await open(path, 'r');
  try {
    const header = await headerOf(file).catch(naming(path));
    const [count = 0, ...shape] = header.dimensions;
    if (!Number.isInteger(index) || index < 0 || index >= count) return null;
    const size = product(shape);
    const values = Buffer.alloc(size);
    const { bytesRead } = await file.read(values, 0, size, header.dataOffset + index * size);
    if (bytesRead !== size) throw new Error(`${path} ends before example ${index}`);
    return { values, shape, count };
  } finally {
    await file.close();
  }
}
