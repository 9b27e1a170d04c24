import sharp from 'sharp';
import { checkList, invalid, type Packed, type PredictIssue } from './validation.js';

export interface ImageLimits {
  /** Largest width x height an image may declare; larger ones are refused before decoding. */
  maxPixels: number;
  /** Longest base64 text per image. */
  maxBase64Length: number;
}

export const defaultImageLimits: ImageLimits = { maxPixels: 4096 * 4096, maxBase64Length: 8 * 1024 * 1024 };

const base64Pattern = /^[A-Za-z0-9+/]*={0,2}$/;
const dataUrlPrefix = /^data:image\/(?:png|jpeg);base64,/;
// Images decoded at once; sharp runs each on libuv's thread pool, off the event loop.
const parallelDecodes = 4;

const isPng = (bytes: Buffer) =>
  bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
const isJpeg = (bytes: Buffer) => bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;

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

// Grey values 0..255 of the image resized to height x width, or what is wrong with it.
async function greyPixels(bytes: Buffer, [height, width]: [number, number], limits: ImageLimits) {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' })
      // Transparent areas become black, the background of the datasets' images.
      .flatten({ background: '#000000' })
      .grayscale()
      .resize(width, height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels === 1) return data;
    const grey = Buffer.alloc(width * height);
    for (let pixel = 0; pixel < grey.length; pixel++) grey[pixel] = data[pixel * info.channels] as number;
    return grey;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    return /pixel limit/i.test(message)
      ? `is too large: more than ${limits.maxPixels} pixels`
      : 'could not be decoded as a PNG or JPEG image';
  }
}

/**
 * Decodes base64 PNG or JPEG `images` to grey values 0..255 at `shape` ([height, width]), packed
 * row-major like numeric inputs. Images larger than the limits are refused without being decoded.
 */
export async function packImages(
  images: unknown,
  shape: [number, number],
  maxInputs: number,
  limits: ImageLimits = defaultImageLimits,
): Promise<Packed> {
  const listError = checkList('images', images, maxInputs);
  if (listError) return { ok: false, error: listError };
  const list = images as unknown[];
  const features = shape[0] * shape[1];
  const values = new Float32Array(list.length * features);
  const issues: PredictIssue[] = [];
  for (let start = 0; start < list.length && issues.length === 0; start += parallelDecodes) {
    const batch = list.slice(start, start + parallelDecodes);
    const decoded = await Promise.all(
      batch.map(async (text) => {
        const bytes = decodeBase64(text, limits);
        return typeof bytes === 'string' ? bytes : greyPixels(bytes, shape, limits);
      }),
    );
    for (const [offset, pixels] of decoded.entries()) {
      const index = start + offset;
      if (typeof pixels === 'string') issues.push({ path: `images[${index}]`, message: pixels });
      else values.set(pixels, index * features);
    }
  }
  if (issues.length > 0) return { ok: false, error: invalid(issues, 'the request has invalid images') };
  return { ok: true, values, rows: list.length };
}
