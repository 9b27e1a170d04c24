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

/**
 * Undoes one row's filter in place: `row` as stored, `above` the row above it already unfiltered (all
 * zeros above the first). A Uint8Array keeps every sum modulo 256, as PNG's filters are defined.
 * One plain loop a filter type: this runs over every byte of the image.
 */
function unfilterRow(filter: number, row: Uint8Array, above: Uint8Array, pixelBytes: number): void {
  const length = row.length;
  if (filter === 1)
    for (let i = pixelBytes; i < length; i++) row[i] = (row[i] as number) + (row[i - pixelBytes] as number);
  else if (filter === 2) for (let i = 0; i < length; i++) row[i] = (row[i] as number) + (above[i] as number);
  else if (filter === 3) {
    for (let i = 0; i < pixelBytes; i++) row[i] = (row[i] as number) + ((above[i] as number) >> 1);
    for (let i = pixelBytes; i < length; i++)
      row[i] = (row[i] as number) + (((row[i - pixelBytes] as number) + (above[i] as number)) >> 1);
  } else if (filter === 4) {
    for (let i = 0; i < pixelBytes; i++) row[i] = (row[i] as number) + (above[i] as number);
    for (let i = pixelBytes; i < length; i++)
      row[i] =
        (row[i] as number) + paeth(row[i - pixelBytes] as number, above[i] as number, above[i - pixelBytes] as number);
  } else if (filter !== 0) throw new PngFormatError(`unknown row filter ${filter}`);
}

/** Reads sample `k` of the row starting at `line`, at its full range (0 .. 2^depth - 1). */
function sampleReader(data: Uint8Array, depth: number): (line: number, k: number) => number {
  if (depth === 8) return (line, k) => data[line + k] as number;
  if (depth === 16) return (line, k) => ((data[line + 2 * k] as number) << 8) | (data[line + 2 * k + 1] as number);
  const mask = (1 << depth) - 1;
  return (line, k) => ((data[line + ((k * depth) >> 3)] as number) >> (8 - depth - ((k * depth) & 7))) & mask;
}

const luma = (red: number, green: number, blue: number) => 0.299 * red + 0.587 * green + 0.114 * blue;

/** Reads a pixel's grey or alpha (0..255) from the row starting at `line`, by column. */
type PixelReader = (line: number, column: number) => number;

/**
 * 8 and 16 bits a sample, without tRNS: the common case, read byte by byte (a 16-bit sample's high
 * byte is its 8-bit value).
 */
function wholeByteReaders(data: Uint8Array, format: PngFormat): { grey: PixelReader; alpha: PixelReader } {
  const step = format.depth / 8;
  const stride = format.samples * step;
  const colour = format.colourType === 2 || format.colourType === 6;
  const alphaAt = (format.samples - 1) * step;
  return {
    grey: colour
      ? (line, column) => {
          const at = line + column * stride;
          return luma(data[at] as number, data[at + step] as number, data[at + 2 * step] as number);
        }
      : (line, column) => data[line + column * stride] as number,
    alpha: (line, column) => data[line + column * stride + alphaAt] as number,
  };
}

/** Any depth, palettes and tRNS: sample by sample, brought to 8 bits. */
function sampleReaders(chunks: PngChunks, data: Uint8Array): { grey: PixelReader; alpha: PixelReader } {
  const { format, palette, transparency } = chunks;
  const sample = sampleReader(data, format.depth);
  const toByte = (value: number) => (value * 255) / ((1 << format.depth) - 1);
  const key = transparency && new DataView(transparency.buffer, transparency.byteOffset, transparency.byteLength);
  const keyed = (line: number, k: number, samples: number) =>
    key !== null &&
    key.byteLength >= samples * 2 &&
    Array.from({ length: samples }, (_, index) => sample(line, k + index) === key.getUint16(index * 2)).every(Boolean);
  const n = format.samples;
  if (format.colourType === 3) {
    const entry = (line: number, column: number) => sample(line, column) * 3;
    return {
      grey: (line, column) =>
        luma(
          palette![entry(line, column)] ?? 0,
          palette![entry(line, column) + 1] ?? 0,
          palette![entry(line, column) + 2] ?? 0,
        ),
      alpha: (line, column) => transparency?.[sample(line, column)] ?? 255,
    };
  }
  if (format.colourType === 0 || format.colourType === 4)
    return {
      grey: (line, column) => toByte(sample(line, column * n)),
      alpha: (line, column) =>
        format.colourType === 4 ? toByte(sample(line, column * n + 1)) : keyed(line, column * n, 1) ? 0 : 255,
    };
  return {
    grey: (line, column) =>
      luma(
        toByte(sample(line, column * n)),
        toByte(sample(line, column * n + 1)),
        toByte(sample(line, column * n + 2)),
      ),
    alpha: (line, column) =>
      format.colourType === 6 ? toByte(sample(line, column * n + 3)) : keyed(line, column * n, 3) ? 0 : 255,
  };
}

/**
 * Undoes the filters of one pass and writes the grey (and alpha) of its pixels, a row at a time: each
 * row is read for its pixels while it is still in the cache from undoing its filter.
 */
function decodePass(
  chunks: PngChunks,
  data: Uint8Array,
  start: number,
  pass: ReturnType<typeof passesOf>[number],
  image: GreyAndAlpha,
) {
  const { format } = chunks;
  const wholeBytes = format.depth >= 8 && format.colourType !== 3 && chunks.transparency === null;
  const read = wholeBytes ? wholeByteReaders(data, format) : sampleReaders(chunks, data);
  const length = rowBytes(format, pass.width);
  const pixelBytes = Math.max(1, (format.samples * format.depth) / 8);
  const { grey, alpha } = image;
  let above: Uint8Array = new Uint8Array(length);
  for (let row = 0; row < pass.height; row++) {
    const line = start + row * (length + 1) + 1;
    const current = data.subarray(line, line + length);
    unfilterRow(data[line - 1] as number, current, above, pixelBytes);
    above = current;
    const first = (pass.y + row * pass.dy) * format.width + pass.x;
    for (let column = 0; column < pass.width; column++) grey[first + column * pass.dx] = read.grey(line, column);
    if (alpha)
      for (let column = 0; column < pass.width; column++) alpha[first + column * pass.dx] = read.alpha(line, column);
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
    // One output buffer of the declared size: no pieces to join, half the memory at the peak.
    data = zlib.inflateSync(chunks.compressed, { maxOutputLength: expected, chunkSize: Math.max(64, expected) });
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
  let start = 0;
  for (const pass of passes) {
    decodePass(chunks, data, start, pass, image);
    start += pass.height * (rowBytes(format, pass.width) + 1);
  }
  return image;
}
