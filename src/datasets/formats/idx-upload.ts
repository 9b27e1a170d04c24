import { classLimits } from '../../domain/datasets.js';
import { UploadProblem, type SpoolWriter } from '../ingestion/spool.js';

/** Bounds an upload's content is checked against as it is read. */
export interface ReadLimits {
  /** Most examples of one dataset (both splits). */
  maxExamples: number;
  /** Most bytes the stored form may take (what the storage limit leaves). */
  maxStoredBytes: number;
  /** Most bytes one example may take stored (DATASET_MAX_EXAMPLE_BYTES), checked before its values are read. */
  maxExampleBytes: number;
  /** Classes given at upload (class names or a count); labels must be below it. */
  numClasses?: number | undefined;
}

const elementTypes: Record<number, string> = {
  0x08: 'unsigned bytes',
  0x09: 'signed bytes',
  0x0b: '16-bit integers',
  0x0c: '32-bit integers',
  0x0d: '32-bit floats',
  0x0e: '64-bit floats',
};

const hex = (value: number) => `0x${value.toString(16).padStart(2, '0')}`;

interface Header {
  dimensions: number[];
  /** The bytes after the header in the piece that ended it. */
  rest: Buffer;
  headerBytes: number;
}

/** Pulls pieces until `bytes` are there, or fails with the position where the file ended. */
async function gather(pieces: AsyncIterator<Buffer>, held: Buffer, bytes: number, field: string): Promise<Buffer> {
  let buffer = held;
  while (buffer.length < bytes) {
    const next = await pieces.next();
    if (next.done) {
      throw new UploadProblem(field, `byte ${buffer.length}: the file ends inside its ${bytes}-byte IDX header`);
    }
    buffer = Buffer.concat([buffer, next.value]);
  }
  return buffer;
}

function checkMagic(head: Buffer, field: string, ranks: readonly number[], kind: string): number {
  if (head[0] !== 0 || head[1] !== 0) {
    const start = [...head.subarray(0, 4)].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
    throw new UploadProblem(
      field,
      `byte 0: wrong magic number (the file starts ${start}; an IDX file starts 00 00 08 and its dimension count)`,
    );
  }
  const type = head[2] as number;
  if (type !== 0x08) {
    const name = elementTypes[type] ?? 'an unknown type';
    throw new UploadProblem(
      field,
      `byte 2: element type ${hex(type)} (${name}) is not supported; only unsigned bytes (0x08) are`,
    );
  }
  const rank = head[3] as number;
  if (!ranks.includes(rank)) {
    const wanted =
      ranks.length === 1
        ? `${ranks[0]} dimension (the count)`
        : `${ranks[0]} to ${ranks.at(-1)} dimensions (the count, then one example's shape)`;
    throw new UploadProblem(field, `byte 3: wrong dimension count: a ${kind} file has ${wanted}; this one has ${rank}`);
  }
  return rank;
}

async function readHeader(
  pieces: AsyncIterator<Buffer>,
  field: string,
  ranks: readonly number[],
  kind: string,
): Promise<Header> {
  const head = await gather(pieces, Buffer.alloc(0), 4, field);
  const rank = checkMagic(head, field, ranks, kind);
  const headerBytes = 4 + rank * 4;
  const whole = await gather(pieces, head, headerBytes, field);
  const dimensions: number[] = [];
  for (let index = 0; index < rank; index++) {
    const size = whole.readUInt32BE(4 + index * 4);
    if (size === 0) {
      const what = index === 0 ? 'the example count is 0: the split is empty' : `dimension ${index + 1} is 0`;
      throw new UploadProblem(field, `byte ${4 + index * 4}: ${what}`);
    }
    dimensions.push(size);
  }
  return { dimensions, rest: whole.subarray(headerBytes), headerBytes };
}

/** Streams the data bytes after the header into `sink`, checking there are exactly `expected`. */
async function copyBody(
  pieces: AsyncIterator<Buffer>,
  header: Header,
  expected: number,
  field: string,
  sink: (piece: Buffer, offset: number) => Promise<void>,
  describe: (received: number) => string,
): Promise<void> {
  let received = 0;
  let piece: Buffer | undefined = header.rest;
  while (piece) {
    if (received + piece.length > expected) {
      const position = header.headerBytes + expected;
      throw new UploadProblem(
        field,
        `byte ${position}: the file goes on after the ${describe(expected)} its header promises`,
      );
    }
    if (piece.length > 0) await sink(piece, received);
    received += piece.length;
    const next = await pieces.next();
    piece = next.done ? undefined : next.value;
  }
  if (received < expected) {
    throw new UploadProblem(
      field,
      `byte ${header.headerBytes + received}: the file is shorter than its header says: it ends after ${received} of the ${expected} data bytes (${describe(expected)})`,
    );
  }
}

/**
 * Reads the header of the IDX file `content` (a `kind` file of one of `ranks` dimensions), checks its
 * example count against the limit, and hands both to `readBody` with the pieces after the header.
 * The source is let go however that ends, so a file refused early is not read to its end.
 */
async function readIdx<Result>(
  content: AsyncIterable<Buffer>,
  field: string,
  { kind, ranks, limits }: { kind: 'images' | 'labels'; ranks: readonly number[]; limits: ReadLimits },
  readBody: (header: Header, count: number, pieces: AsyncIterator<Buffer>) => Promise<Result>,
): Promise<Result> {
  const pieces = content[Symbol.asyncIterator]();
  try {
    const header = await readHeader(pieces, field, ranks, kind);
    const count = header.dimensions[0] ?? 0;
    if (count > limits.maxExamples) {
      throw new UploadProblem(
        field,
        `byte 4: ${count} ${kind === 'images' ? 'examples' : kind}; a dataset may have at most ${limits.maxExamples} examples (DATASET_MAX_EXAMPLES)`,
      );
    }
    return await readBody(header, count, pieces);
  } finally {
    await pieces.return?.();
  }
}

export interface IdxImages {
  count: number;
  /** One example's shape: [rows, columns, 1] for grey images, [features] for flat vectors. */
  shape: number[];
}

/** Reads an IDX images file (count, then one example's dimensions; unsigned bytes), copying pixels to `out`. */
export async function readIdxImages(
  content: AsyncIterable<Buffer>,
  field: string,
  out: SpoolWriter,
  limits: ReadLimits,
): Promise<IdxImages> {
  return readIdx(content, field, { kind: 'images', ranks: [2, 3, 4], limits }, async (header, count, pieces) => {
    const exampleDimensions = header.dimensions.slice(1);
    const perExample = exampleDimensions.reduce((product, size) => product * size, 1);
    if (perExample > limits.maxExampleBytes) {
      throw new UploadProblem(
        field,
        `byte 8: an example of ${exampleDimensions.join('x')} is ${perExample} bytes; at most ${limits.maxExampleBytes} (DATASET_MAX_EXAMPLE_BYTES)`,
      );
    }
    const expected = count * perExample;
    if (expected > limits.maxStoredBytes) {
      throw new UploadProblem(
        field,
        `byte 4: ${expected} bytes of images are more than the ${limits.maxStoredBytes} bytes of storage left for datasets (DATASET_MAX_TOTAL_BYTES)`,
      );
    }
    const describe = () => `${count} examples of ${exampleDimensions.join('x')}`;
    await copyBody(pieces, header, expected, field, (piece) => out.write(piece), describe);
    // Grey images get an explicit channel, as image layers expect: [rows, columns, 1].
    const shape = exampleDimensions.length === 2 ? [...exampleDimensions, 1] : exampleDimensions;
    return { count, shape };
  });
}

export interface IdxLabels {
  count: number;
  maxLabel: number;
}

/** Reads an IDX labels file (one dimension; unsigned bytes), writing each label as uint16 LE to `out`. */
export async function readIdxLabels(
  content: AsyncIterable<Buffer>,
  field: string,
  out: SpoolWriter,
  limits: ReadLimits,
): Promise<IdxLabels> {
  return readIdx(content, field, { kind: 'labels', ranks: [1], limits }, async (header, count, pieces) => {
    const bound = limits.numClasses ?? classLimits.max;
    let maxLabel = 0;
    const sink = async (piece: Buffer, offset: number) => {
      // Labels double in size (uint16): a piece goes in slices that fit the writer's buffer.
      const slice = Math.floor(out.capacity / 2);
      for (let start = 0; start < piece.length; start += slice) {
        const part = piece.subarray(start, start + slice);
        const { buffer, offset: at } = await out.reserve(part.length * 2);
        for (let index = 0; index < part.length; index++) {
          const label = part[index] as number;
          if (label >= bound) {
            const example = offset + start + index;
            throw new UploadProblem(
              field,
              `byte ${header.headerBytes + example} (example ${example}): label ${label} is outside 0..${bound - 1}`,
            );
          }
          if (label > maxLabel) maxLabel = label;
          buffer.writeUInt16LE(label, at + index * 2);
        }
        out.commit(part.length * 2);
      }
    };
    await copyBody(pieces, header, count, field, sink, (received) => `${received} labels`);
    return { count, maxLabel };
  });
}
