// The API's side of images: base64 decoded and headers read, on the event loop, which is quick; the
// pixels are decoded in the inference threads (image-decoding.ts), never on libuv's thread pool,
// which file and DNS work share.
import { decodedBytes, isJpeg, isPng, readImageHeader, type ImageHeader } from './image-header.js';
import { checkList, invalid, type PredictError, type PredictIssue } from './validation.js';

export interface ImageLimits {
  /** Largest width x height an image may declare; larger ones are refused before decoding. */
  maxPixels: number;
  /** Longest base64 text per image. */
  maxBase64Length: number;
  /** Most bytes all the images of one request may decode to (width x height x channels x bytes a sample). */
  maxDecodedBytes: number;
}

export const defaultImageLimits: ImageLimits = {
  maxPixels: 4096 * 4096,
  maxBase64Length: 8 * 1024 * 1024,
  // One 4096x4096 16-bit RGBA PNG: the largest image the pixel limit lets through, once.
  maxDecodedBytes: 128 * 1024 * 1024,
};

/** A request's images, still encoded, each with the bytes it decodes to; or what is wrong with them. */
export type CheckedImages =
  { ok: true; images: Uint8Array[]; decodedBytes: number[] } | { ok: false; error: PredictError };

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
const dataUrlPrefix = /^data:image\/(?:png|jpeg);base64,/;

function decodeBase64(text: unknown, limits: ImageLimits): Buffer | string {
  if (typeof text !== 'string') return 'must be a base64 string';
  if (text.length > limits.maxBase64Length)
    return `is too large: more than ${limits.maxBase64Length} base64 characters`;
  const body = text.replace(dataUrlPrefix, '').replace(/\s+/g, '');
  if (body.length % 4 !== 0 || !base64Pattern.test(body)) return 'is not valid base64';
  const bytes = Buffer.from(body, 'base64');
  if (!isPng(bytes) && !isJpeg(bytes)) return 'is not a PNG or JPEG image';
  return bytes;
}

function headerOf(bytes: Buffer, limits: ImageLimits): ImageHeader | string {
  const header = readImageHeader(bytes);
  if (!header) return 'could not be decoded as a PNG or JPEG image';
  if (header.width * header.height > limits.maxPixels) return `is too large: more than ${limits.maxPixels} pixels`;
  return header;
}

const describe = (header: ImageHeader) =>
  `${header.width} x ${header.height} pixels x ${header.channels} channels x ${header.bytesPerSample} bytes`;

function tooLarge(issue: PredictIssue, limits: ImageLimits): PredictError {
  return {
    code: 'images_too_large',
    message: `the images of a request may decode to at most ${limits.maxDecodedBytes} bytes`,
    issues: [issue],
  };
}

/**
 * Checks `images` (base64 PNG or JPEG) without decoding their pixels: the list, each image's base64,
 * format and declared size, and the bytes they decode to together, at most `limits.maxDecodedBytes`
 * (`images_too_large`, naming the first image past the limit, or `images` when only the sum is).
 */
export function checkImages(
  images: unknown,
  maxInputs: number,
  limits: ImageLimits = defaultImageLimits,
): CheckedImages {
  const listError = checkList('images', images, maxInputs);
  if (listError) return { ok: false, error: listError };
  const list = images as unknown[];
  const checked: Buffer[] = [];
  const headers: ImageHeader[] = [];
  const issues: PredictIssue[] = [];
  for (const [index, text] of list.entries()) {
    const bytes = decodeBase64(text, limits);
    const header = typeof bytes === 'string' ? bytes : headerOf(bytes, limits);
    if (typeof header === 'string') issues.push({ path: `images[${index}]`, message: header });
    else if (typeof bytes !== 'string') [checked[index], headers[index]] = [bytes, header];
  }
  if (issues.length > 0) return { ok: false, error: invalid(issues, 'the request has invalid images') };
  const sizes = headers.map(decodedBytes);
  const single = sizes.findIndex((size) => size > limits.maxDecodedBytes);
  if (single >= 0) {
    const message = `decodes to ${describe(headers[single] as ImageHeader)} = ${sizes[single]} bytes, more than the limit of ${limits.maxDecodedBytes}`;
    return { ok: false, error: tooLarge({ path: `images[${single}]`, message }, limits) };
  }
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total > limits.maxDecodedBytes) {
    const message = `decode to ${total} bytes together, more than the limit of ${limits.maxDecodedBytes}; send fewer or smaller images a request`;
    return { ok: false, error: tooLarge({ path: 'images', message }, limits) };
  }
  return { ok: true, images: checked, decodedBytes: sizes };
}
