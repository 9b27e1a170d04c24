import { readFile } from 'node:fs/promises';

/** Reads an IDX file (the MNIST format): big-endian header of dimensions, then unsigned bytes. */
export async function readIdx(path: string): Promise<{ dimensions: number[]; values: Uint8Array }> {
  const bytes = await readFile(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4 || view.getUint16(0) !== 0 || view.getUint8(2) !== 0x08) {
    throw new Error(`${path} is not an unsigned-byte IDX file`);
  }
  const rank = view.getUint8(3);
  const dimensions: number[] = [];
  for (let index = 0; index < rank; index++) dimensions.push(view.getUint32(4 + index * 4));
  const offset = 4 + rank * 4;
  const expected = dimensions.reduce((product, dimension) => product * dimension, 1);
  if (bytes.byteLength - offset !== expected) {
    throw new Error(`${path} holds ${bytes.byteLength - offset} values, its header promises ${expected}`);
  }
  return { dimensions, values: new Uint8Array(bytes.buffer, bytes.byteOffset + offset, expected) };
}
