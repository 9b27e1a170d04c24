// A PNG decoder that goes straight to grey and alpha: zlib's own inflate (synchronous, so on the
// calling thread, and bounded by the size the header declares), then PNG's row filters undone in
// place and each pixel turned into one grey byte. pngjs took 8 to 12 s for a 4096x4096 16-bit RGBA
// image, through an RGBA copy of every pixel; this takes what inflating takes, and a pass more.
import zlib from 'node:zlib';

/** Grey values and, for a PNG with transparency, alpha values (0 transparent .. 255 opaque). */
export interface GreyAndAlpha {
  width: number;
  height: number;
  grey: Uint8ClampedArray;
  alpha: Uint8Array | null;
}

interface PngFormat {
  width: number;
  height: number;
  depth: number;
  colourType: number;
  /** Samples a pixel as stored (a palette index is one). */
  samples: number;
  interlaced: boolean;
}

/** Samples per pixel, and the depths PNG allows, of each colour type. */
const colourTypes: Record<number, { samples: number; depths: number[] }> = {
  0: { samples: 1, depths: [1, 2, 4, 8, 16] },
  2: { samples: 3, depths: [8, 16] },
  3: { samples: 1, depths: [1, 2, 4, 8] },
  4: { samples: 2, depths: [8, 16] },
  6: { samples: 4, depths: [8, 16] },
};

// Adam7: each pass's first column and row, and its steps across and down.
const adam7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

export class PngFormatError extends Error {}

interface PngChunks {
  format: PngFormat;
  palette: Uint8Array | null;
  transparency: Uint8Array | null;
  compressed: Buffer;
}

function readFormat(data: Uint8Array): PngFormat {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const [depth, colourType] = [data[8] as number, data[9] as number];
  const type = colourTypes[colourType];
  if (
    data.length !== 13 ||
    !type?.depths.includes(depth) ||
    data[10] !== 0 ||
    data[11] !== 0 ||
    (data[12] as number) > 1
  )
    throw new PngFormatError('unsupported PNG header');
  const [width, height] = [view.getUint32(0), view.getUint32(4)];
  if (width === 0 || height === 0) throw new PngFormatError('a PNG without pixels');
  return { width, height, depth, colourType, samples: type.samples, interlaced: data[12] === 1 };
}

function readChunks(bytes: Uint8Array): PngChunks {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format: PngFormat | null = null;
  let [palette, transparency] = [null as Uint8Array | null, null as Uint8Array | null];
  const compressed: Uint8Array[] = [];
  for (let offset = 8; offset + 8 <= bytes.length;) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (data.length !== length) throw new PngFormatError(`the ${type} chunk is cut short`);
    if (type === 'IHDR') format = readFormat(data);
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') transparency = data;
    else if (type === 'IDAT') compressed.push(data);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (!format) throw new PngFormatError('no IHDR chunk');
  if (format.colourType === 3 && !palette) throw new PngFormatError('a palette image without a palette');
  return { format, palette, transparency, compressed: Buffer.concat(compressed) };
}

/** Bytes of one row of `pixels` pixels, without its filter byte. */
const rowBytes = (format: PngFormat, pixels: number) => Math.ceil((pixels * format.samples * format.depth) / 8);

/** Each pass's size in pixels (one pass of the whole image when not interlaced). */
function passesOf(format: PngFormat) {
  if (!format.interlaced) return [{ x: 0, y: 0, dx: 1, dy: 1, width: format.width, height: format.height }];
  return adam7.map(([x, y, dx, dy]) => ({
    x,
    y,
    dx,
    dy,
    width: Math.ceil((format.width - x) / dx),
    height: Math.ceil((format.height - y) / dy),
  }));
}

function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const [toLeft, toUp, toUpLeft] = [Math.abs(estimate - left), Math.abs(estimate - up), Math.abs(estimate - upLeft)];
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

/** Undoes the row filters of `rows` rows of `length` bytes from `start`, in place. */
function unfilter(data: Uint8Array, start: number, rows: number, length: number, pixelBytes: number): void {
  for (let row = 0; row < rows; row++) {
    const line = start + row * (length + 1) + 1;
    // The row above, already unfiltered; the first row's is all zeros.
    const above = row === 0 ? -1 : line - length - 1;
    const up = (index: number) => (above < 0 ? 0 : (data[above + index] as number));
    const left = (index: number) => (index < pixelBytes ? 0 : (data[line + index - pixelBytes] as number));
    const upLeft = (index: number) =>
      index < pixelBytes || above < 0 ? 0 : (data[above + index - pixelBytes] as number);
    const predictors: Record<number, (index: number) => number> = {
      1: left,
      2: up,
      3: (index) => (left(index) + up(index)) >> 1,
      4: (index) => paeth(left(index), up(index), upLeft(index)),
    };
    const filter = data[line - 1] as number;
    if (filter === 0) continue;
    const predict = predictors[filter];
    if (!predict) throw new PngFormatError(`unknown row filter ${filter}`);
    // A Uint8Array keeps the sum modulo 256, as PNG's filters are defined.
    for (let index = 0; index < length; index++) data[line + index] = (data[line + index] as number) + predict(index);
  }
}

/** Reads sample `k` of the row starting at `line`, at its full range (0 .. 2^depth - 1). */
function sampleReader(data: Uint8Array, depth: number): (line: number, k: number) => number {
  if (depth === 8) return (line, k) => data[line + k] as number;
  if (depth === 16) return (line, k) => ((data[line + 2 * k] as number) << 8) | (data[line + 2 * k + 1] as number);
  const mask = (1 << depth) - 1;
  return (line, k) => ((data[line + ((k * depth) >> 3)] as number) >> (8 - depth - ((k * depth) & 7))) & mask;
}

const luma = (red: number, green: number, blue: number) => 0.299 * red + 0.587 * green + 0.114 * blue;

/**
 * Writes the grey (and alpha) of every pixel of one pass. Samples are brought to 8 bits; a palette
 * index is looked up; tRNS makes a palette entry, or the one grey or colour it names, transparent.
 */
function writePixels(
  chunks: PngChunks,
  data: Uint8Array,
  start: number,
  pass: ReturnType<typeof passesOf>[number],
  image: GreyAndAlpha,
) {
  const { format, palette, transparency } = chunks;
  const sample = sampleReader(data, format.depth);
  const toByte =
    format.depth === 16 ? (value: number) => value >> 8 : (value: number) => (value * 255) / ((1 << format.depth) - 1);
  const view = transparency && new DataView(transparency.buffer, transparency.byteOffset, transparency.byteLength);
  const length = rowBytes(format, pass.width);
  for (let row = 0; row < pass.height; row++) {
    const line = start + row * (length + 1) + 1;
    for (let column = 0; column < pass.width; column++) {
      const pixel = (pass.y + row * pass.dy) * format.width + pass.x + column * pass.dx;
      const k = column * format.samples;
      let alpha = 255;
      if (format.colourType === 3) {
        const entry = sample(line, k);
        image.grey[pixel] = luma(palette![entry * 3] ?? 0, palette![entry * 3 + 1] ?? 0, palette![entry * 3 + 2] ?? 0);
        alpha = transparency?.[entry] ?? 255;
      } else if (format.colourType === 0 || format.colourType === 4) {
        const value = sample(line, k);
        image.grey[pixel] = toByte(value);
        if (format.colourType === 4) alpha = toByte(sample(line, k + 1));
        else if (view && view.byteLength >= 2 && value === view.getUint16(0)) alpha = 0;
      } else {
        const [red, green, blue] = [sample(line, k), sample(line, k + 1), sample(line, k + 2)];
        image.grey[pixel] = luma(toByte(red), toByte(green), toByte(blue));
        if (format.colourType === 6) alpha = toByte(sample(line, k + 3));
        else if (
          view &&
          view.byteLength >= 6 &&
          red === view.getUint16(0) &&
          green === view.getUint16(2) &&
          blue === view.getUint16(4)
        )
          alpha = 0;
      }
      if (image.alpha) image.alpha[pixel] = alpha;
    }
  }
}

/** The grey (and alpha) of a PNG. Throws PngFormatError for anything it cannot read. */
export function decodePng(bytes: Uint8Array): GreyAndAlpha {
  const chunks = readChunks(bytes);
  const { format } = chunks;
  const passes = passesOf(format).filter((pass) => pass.width > 0 && pass.height > 0);
  const expected = passes.reduce((sum, pass) => sum + pass.height * (rowBytes(format, pass.width) + 1), 0);
  let data: Buffer;
  try {
    // More than the header allows is refused as it inflates: a small file of zeros cannot fill memory.
    data = zlib.inflateSync(chunks.compressed, { maxOutputLength: expected });
  } catch (error) {
    throw new PngFormatError('its pixel data does not inflate to its declared size', { cause: error });
  }
  if (data.length < expected) throw new PngFormatError('its pixel data is cut short');
  const hasAlpha = format.colourType === 4 || format.colourType === 6 || chunks.transparency !== null;
  const pixels = format.width * format.height;
  const image = {
    width: format.width,
    height: format.height,
    grey: new Uint8ClampedArray(pixels),
    alpha: hasAlpha ? new Uint8Array(pixels) : null,
  };
  const pixelBytes = Math.max(1, (format.samples * format.depth) / 8);
  let start = 0;
  for (const pass of passes) {
    const length = rowBytes(format, pass.width);
    unfilter(data, start, pass.height, length, pixelBytes);
    writePixels(chunks, data, start, pass, image);
    start += pass.height * (length + 1);
  }
  return image;
}
