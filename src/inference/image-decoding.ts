// PNG and JPEG decoding in plain JavaScript, synchronous on the calling thread (an inference thread):
// a native decoder (sharp) would run on libuv's thread pool, where a few large images hold up every
// file read of the process (the dashboard's files, the artifact store).
import zlib from 'node:zlib';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import type { GreyImage } from '../domain/image-preprocessing.js';
import { readImageHeader, type ImageHeader } from './image-header.js';

/** The image is not a PNG or JPEG that can be decoded; the message says why, for the log. */
export class UndecodableImage extends Error {}

// Samples per pixel of each PNG colour type as stored (a palette index is one sample).
const storedPngSamples: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * pngjs inflates an interlaced PNG whole and without a bound, so a few MB of zeros could inflate to
 * gigabytes; inflating it here first, bounded by what its header allows, refuses such a bomb.
 */
function checkInterlacedInflation(bytes: Uint8Array, header: ImageHeader): void {
  const depth = header.bytesPerSample === 2 ? 16 : (bytes[24] as number);
  const rowBytes = Math.ceil((header.width * (storedPngSamples[bytes[25] as number] ?? 4) * depth) / 8);
  // Seven passes: each row of each pass has a filter byte and at most one partly used byte more.
  const bound = rowBytes * header.height + 4 * header.height + 64;
  const compressed: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 8; offset + 8 <= bytes.length; ) {
    const length = view.getUint32(offset);
    if (Buffer.from(bytes.subarray(offset + 4, offset + 8)).toString() === 'IDAT')
      compressed.push(bytes.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  try {
    zlib.inflateSync(Buffer.concat(compressed), { maxOutputLength: bound });
  } catch (error) {
    throw new UndecodableImage('its pixel data does not inflate to its declared size', { cause: error });
  }
}

function flatten(samples: Uint8Array, width: number, height: number, channels: 3 | 4): GreyImage {
  // Clamped: values are rounded, not cut.
  const pixels = new Uint8ClampedArray(width * height);
  for (let pixel = 0, offset = 0; pixel < pixels.length; pixel++, offset += channels) {
    // ITU-R BT.601 luma, as JPEG's own colour conversion uses.
    pixels[pixel] =
      0.299 * (samples[offset] as number) + 0.587 * (samples[offset + 1] as number) + 0.114 * (samples[offset + 2] as number);
  }
  if (channels === 4) composite(pixels, samples);
  return { width, height, pixels };
}

/**
 * Puts a transparent image on a background that its ink stands out from: black under light ink (as
 * the datasets' images are), white under dark ink (a black pen stroke on a transparent canvas).
 */
function composite(grey: Uint8ClampedArray, rgba: Uint8Array): void {
  let [opaque, opaqueGrey, transparent] = [0, 0, false];
  for (let pixel = 0; pixel < grey.length; pixel++) {
    const alpha = rgba[pixel * 4 + 3] as number;
    if (alpha < 255) transparent = true;
    if (alpha >= 128) [opaque, opaqueGrey] = [opaque + 1, opaqueGrey + (grey[pixel] as number)];
  }
  if (!transparent) return;
  const background = opaque > 0 && opaqueGrey / opaque < 128 ? 255 : 0;
  for (let pixel = 0; pixel < grey.length; pixel++) {
    const alpha = (rgba[pixel * 4 + 3] as number) / 255;
    grey[pixel] = (grey[pixel] as number) * alpha + background * (1 - alpha);
  }
}

function decodePng(bytes: Uint8Array, header: ImageHeader): GreyImage {
  if (header.interlaced) checkInterlacedInflation(bytes, header);
  // Always 8-bit RGBA, whatever the PNG's colour type and depth.
  const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return flatten(png.data, png.width, png.height, 4);
}

function decodeJpeg(bytes: Uint8Array, header: ImageHeader): GreyImage {
  const image = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    // The header was checked against the request's limits; these only stop a header that lied.
    maxResolutionInMP: (header.width * header.height) / 1e6 + 1,
    maxMemoryUsageInMB: Math.ceil((header.width * header.height * 16) / 1024 ** 2) + 64,
  });
  return flatten(image.data, image.width, image.height, 3);
}

/** The grey pixels of a PNG or JPEG whose header was checked. Throws UndecodableImage. */
export function decodeGrey(bytes: Uint8Array): GreyImage {
  const header = readImageHeader(bytes);
  if (!header) throw new UndecodableImage('not a PNG or JPEG header');
  try {
    return header.format === 'png' ? decodePng(bytes, header) : decodeJpeg(bytes, header);
  } catch (error) {
    if (error instanceof UndecodableImage) throw error;
    throw new UndecodableImage(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
