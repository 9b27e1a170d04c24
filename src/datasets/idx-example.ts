import { open } from 'node:fs/promises';

/** The dimensions of an unsigned-byte IDX file (the MNIST format) and where its values start. */
export interface IdxHeader {
  dimensions: number[];
  dataOffset: number;
}

async function readHeader(file: Awaited<ReturnType<typeof open>>, path: string): Promise<IdxHeader> {
  const start = Buffer.alloc(4);
  await file.read(start, 0, 4, 0);
  if (start.readUInt16BE(0) !== 0 || start[2] !== 0x08) throw new Error(`${path} is not an unsigned-byte IDX file`);
  const rank = start[3] as number;
  const sizes = Buffer.alloc(rank * 4);
  await file.read(sizes, 0, sizes.length, 4);
  const dimensions = Array.from({ length: rank }, (_, index) => sizes.readUInt32BE(index * 4));
  return { dimensions, dataOffset: 4 + rank * 4 };
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
    const { dimensions, dataOffset } = await readHeader(file, path);
    const [count = 0, ...shape] = dimensions;
    if (!Number.isInteger(index) || index < 0 || index >= count) return null;
    const size = shape.reduce((product, dimension) => product * dimension, 1);
    const values = Buffer.alloc(size);
    const { bytesRead } = await file.read(values, 0, size, dataOffset + index * size);
    if (bytesRead !== size) throw new Error(`${path} ends before example ${index}`);
    return { values, shape, count };
  } finally {
    await file.close();
  }
}
