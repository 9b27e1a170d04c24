// In an inference thread: the images of a task decoded and made model input, off the event loop.
import { preprocessImage } from '../domain/image-preprocessing.js';
import { decodeGrey, UndecodableImage } from './image-decoding.js';
import type { ImageRows } from './protocol.js';
import type { PredictIssue } from './validation.js';

/**
 * The grey values (0..255, row-major) of each image of `rows` as `rows.preprocess` makes them, or the
 * first image that could not be decoded (the rest are not decoded for nothing).
 */
export function imageInputs(rows: ImageRows): { ok: true; inputs: Float32Array } | { ok: false; issue: PredictIssue } {
  const features = rows.height * rows.width;
  const inputs = new Float32Array(rows.ends.length * features);
  let start = 0;
  for (const [index, end] of rows.ends.entries()) {
    try {
      const grey = decodeGrey(rows.bytes.subarray(start, end));
      inputs.set(preprocessImage(grey, rows.preprocess, [rows.height, rows.width]), index * features);
    } catch (error) {
      if (!(error instanceof UndecodableImage)) throw error;
      const path = `images[${rows.firstIndex + index}]`;
      return { ok: false, issue: { path, message: 'could not be decoded as a PNG or JPEG image' } };
    }
    start = end;
  }
  return { ok: true, inputs };
}
