import zlib from 'node:zlib';
import { pngChunk, pngSignature } from './png-bomb.js';

/** Samples a pixel of each PNG colour type. */
const samplesOf = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

export interface PngPicture {
  width: number;
  height: number;
  colourType: keyof typeof samplesOf;
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** Samples row by row, at their full range (0 .. 2^bitDepth - 1); palette indices for type 3. */
  samples: readonly number[];
  palette?: Buffer;
  transparency?: Buffer;
}

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const [a, b, c] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
  return a <= b && a <= c ? left : b <= c ? up : upLeft;
}

/** One row's samples packed big-endian at `bitDepth` bits each, as PNG stores them. */
function packRow(samples: readonly number[], bitDepth: number): Buffer {
  const row = Buffer.alloc(Math.ceil((samples.length * bitDepth) / 8));
  samples.forEach((value, index) => {
    if (bitDepth === 16) row.writeUInt16BE(value, index * 2);
    else if (bitDepth === 8) row[index] = value;
    else row[(index * bitDepth) >> 3]! |= value << (8 - bitDepth - ((index * bitDepth) & 7));
  });
  return row;
}

/**
 * A non-interlaced PNG of `picture`, whose rows take the five filter types in turn (none, sub, up,
 * average, Paeth), so a decoder has to undo every one of them.
 */
export function encodePng(picture: PngPicture): Buffer {
  const samples = samplesOf[picture.colourType];
  const rowSamples = picture.width * samples;
  const pixelBytes = Math.max(1, (samples * picture.bitDepth) / 8);
  const filtered: Buffer[] = [];
  let previous: Buffer = Buffer.alloc(Math.ceil((rowSamples * picture.bitDepth) / 8));
  for (let row = 0; row < picture.height; row++) {
    const current = packRow(picture.samples.slice(row * rowSamples, (row + 1) * rowSamples), picture.bitDepth);
    const filter = row % 5;
    const line = Buffer.alloc(current.length + 1);
    line[0] = filter;
    for (let index = 0; index < current.length; index++) {
      const left = index >= pixelBytes ? current[index - pixelBytes]! : 0;
      const up = previous[index]!;
      const upLeft = index >= pixelBytes ? previous[index - pixelBytes]! : 0;
      const predicted = [0, left, up, (left + up) >> 1, paeth(left, up, upLeft)][filter]!;
      line[index + 1] = (current[index]! - predicted) & 255;
    }
    filtered.push(line);
    previous = current;
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(picture.width, 0);
  header.writeUInt32BE(picture.height, 4);
  header.set([picture.bitDepth, picture.colourType, 0, 0, 0], 8);
  return Buffer.concat([
    pngSignature,
    pngChunk('IHDR', header),
    ...(picture.palette ? [pngChunk('PLTE', picture.palette)] : []),
    ...(picture.transparency ? [pngChunk('tRNS', picture.transparency)] : []),
    pngChunk('IDAT', zlib.deflateSync(Buffer.concat(filtered))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
