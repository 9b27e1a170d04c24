import { open, readFile } from 'node:fs/promises';

// IDX files (the MNIST format) on local disk, trusted: a big-endian header (two zero bytes, the element
// type, the dimension count, then each dimension), then the values. Only unsigned bytes (0x08) are
// read. Uploads are checked field by field as they stream in by idx-upload.ts instead.

/** The dimensions of an unsigned-byte IDX file and where its values start. */
export interface IdxHeader {
  dimensions: number[];
  dataOffset: number;
}

/** The header at the start of `bytes` (at least 4 bytes, and 4 per dimension after them when it has some). */
function parseHeader(bytes: Uint8Array, path: string): IdxHeader | { needBytes: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4 || view.getUint16(0) !== 0 || view.getUint8(2) !== 0x08)
    throw new Error(`${path} is not an unsigned-byte IDX file`);
  const rank = view.getUint8(3);
  const dataOffset = 4 + rank * 4;
  if (bytes.byteLength < dataOffset) return { needBytes: dataOffset };
  const dimensions = Array.from({ length: rank }, (_, index) => view.getUint32(4 + index * 4));
  return { dimensions, dataOffset };
}

const product = (dimensions: readonly number[]) => dimensions.reduce((total, dimension) => total * dimension, 1);

/** Reads a whole IDX file: its dimensions and all its values. */
export async function readIdx(path: string): Promise<{ dimensions: number[]; values: Uint8Array }> {
  const bytes = await readFile(path);
  const header = parseHeader(bytes, path);
  if ('needBytes' in header) throw new Error(`${path} ends inside its IDX header`);
  const { dimensions, dataOffset } = header;
  const expected = product(dimensions);
  if (bytes.byteLength - dataOffset !== expected)
    throw new Error(`${path} holds ${bytes.byteLength - dataOffset} values, its header promises ${expected}`);
  return { dimensions, values: new Uint8Array(bytes.buffer, bytes.byteOffset + dataOffset, expected) };
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
    let start = Buffer.alloc(4);
    await file.read(start, 0, 4, 0);
    let header = parseHeader(start, path);
    if ('needBytes' in header) {
      start = Buffer.alloc(header.needBytes);
      await file.read(start, 0, start.length, 0);
      header = parseHeader(start, path);
      if ('needBytes' in header) throw new Error(`${path} ends inside its IDX header`);
    }
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
