// PNG and JPEG decoding in plain JavaScript, synchronous on the calling thread (an inference thread):
// a native decoder (sharp) would run on libuv's thread pool, where a few large images hold up every
// file read of the process (the dashboard's files, the artifact store).
import jpeg from 'jpeg-js';
import type { GreyImage } from '../domain/image-preprocessing.js';
import { readImageHeader, type ImageHeader } from './image-header.js';
import { decodePng, type GreyAndAlpha } from './png-decoding.js';

/** The image is not a PNG or JPEG that can be decoded; the message says why, for the log. */
export class UndecodableImage extends Error {}

/**
 * Puts a transparent picture on a background its ink stands out from: black under light ink (as the
 * datasets' images are), white under dark ink (a black pen stroke on a transparent canvas).
 */
function composite({ width, height, grey, alpha }: GreyAndAlpha): GreyImage {
  if (!alpha) return { width, height, pixels: grey };
  let [opaque, opaqueGrey, transparent] = [0, 0, false];
  for (let pixel = 0; pixel < grey.length; pixel++) {
    const cover = alpha[pixel] as number;
    if (cover < 255) transparent = true;
    if (cover >= 128) [opaque, opaqueGrey] = [opaque + 1, opaqueGrey + (grey[pixel] as number)];
  }
  // Most RGBA pictures are opaque throughout.
  if (!transparent) return { width, height, pixels: grey };
  const background = opaque > 0 && opaqueGrey / opaque < 128 ? 255 : 0;
  for (let pixel = 0; pixel < grey.length; pixel++) {
    const cover = (alpha[pixel] as number) / 255;
    grey[pixel] = (grey[pixel] as number) * cover + background * (1 - cover);
  }
  return { width, height, pixels: grey };
}

function decodeJpeg(bytes: Uint8Array, header: ImageHeader): GreyAndAlpha {
  const image = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    // The header was checked against the request's limits; these only stop a header that lied.
    maxResolutionInMP: (header.width * header.height) / 1e6 + 1,
    maxMemoryUsageInMB: Math.ceil((header.width * header.height * 16) / 1024 ** 2) + 64,
  });
  const { data, width, height } = image;
  // Clamped: values are rounded, not cut. ITU-R BT.601 luma, as JPEG's own colour conversion uses.
  const grey = new Uint8ClampedArray(width * height);
  for (let pixel = 0, offset = 0; pixel < grey.length; pixel++, offset += 3)
    grey[pixel] =
      0.299 * (data[offset] as number) + 0.587 * (data[offset + 1] as number) + 0.114 * (data[offset + 2] as number);
  return { width, height, grey, alpha: null };
}

/** The grey pixels of a PNG or JPEG, transparency flattened. Throws UndecodableImage. */
export function decodeGrey(bytes: Uint8Array): GreyImage {
  const header = readImageHeader(bytes);
  if (!header) throw new UndecodableImage('not a PNG or JPEG header');
  try {
    return composite(header.format === 'png' ? decodePng(bytes) : decodeJpeg(bytes, header));
  } catch (error) {
    throw new UndecodableImage(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
