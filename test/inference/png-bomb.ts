import { once } from 'node:events';
import zlib from 'node:zlib';

/** A PNG chunk: length, type, data and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([length, body, crc]);
}

export const pngSignature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Samples a pixel of each PNG colour type: 0 grey, 2 RGB, 4 grey and alpha, 6 RGBA. */
const samples = { 0: 1, 2: 3, 4: 2, 6: 4 } as const;

/**
 * A valid, all-black (and, with alpha, transparent) PNG of `width` x `height`, 8-bit grey unless
 * told: a few hundred KiB that would take width x height x samples x bytes a sample to decode.
 * Deflated row by row, so making it never holds the pixels.
 */
export async function pngBomb(
  width: number,
  height: number,
  { colourType = 0, bitDepth = 8 }: { colourType?: keyof typeof samples; bitDepth?: 8 | 16 } = {},
): Promise<Buffer> {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([bitDepth, colourType, 0, 0, 0], 8); // deflate, no filter method, no interlace
  const deflate = zlib.createDeflate({ level: 9 });
  const compressed: Buffer[] = [];
  deflate.on('data', (piece: Buffer) => compressed.push(piece));
  const row = Buffer.alloc((width * samples[colourType] * bitDepth) / 8 + 1); // filter byte 0, then zeros
  for (let index = 0; index < height; index++) {
    if (!deflate.write(row)) await once(deflate, 'drain');
  }
  deflate.end();
  await once(deflate, 'end');
  return Buffer.concat([
    pngSignature,
    pngChunk('IHDR', header),
    pngChunk('IDAT', Buffer.concat(compressed)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
