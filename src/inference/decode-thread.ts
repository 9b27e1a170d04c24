// Entry point of an image decoder thread (run by piscina): images decoded and made model input here,
// in plain JavaScript, never on the API's event loop nor on libuv's thread pool (which its file reads
// share), and apart from the inference threads, so a large image never queues a prediction.
import os from 'node:os';
import { preprocessImage } from '../domain/image-preprocessing.js';
import { decodeGrey, UndecodableImage } from './image-decoding.js';
import type { DecodeResult, DecodeTask } from './protocol.js';

// A nice value: below the event loop's (0), above idle work (19). A large image takes a second or more
// to decode; on a machine with no core to spare the API's event loop would queue behind it. On Linux
// each thread has its own nice value and 0 names the calling thread (elsewhere, the whole process).
// Only ever lowered: raising it needs privileges, and a process started nicer stays as nice.
const decoderPriority = 10;
if (process.platform === 'linux') os.setPriority(0, Math.max(os.getPriority(0), decoderPriority));

/**
 * The grey values (0..255, row-major) of each image of the task as `task.preprocess` makes them, or
 * the first image that could not be decoded (the rest are not decoded for nothing).
 */
export default function decode(task: DecodeTask): DecodeResult {
  const features = task.height * task.width;
  const inputs = new Float32Array(task.ends.length * features);
  let start = 0;
  for (const [index, end] of task.ends.entries()) {
    try {
      const grey = decodeGrey(task.bytes.subarray(start, end));
      inputs.set(preprocessImage(grey, task.preprocess, [task.height, task.width]), index * features);
    } catch (error) {
      if (!(error instanceof UndecodableImage)) throw error;
      const path = `images[${task.firstIndex + index}]`;
      return { ok: false, issue: { path, message: 'could not be decoded as a PNG or JPEG image' } };
    }
    start = end;
  }
  return { ok: true, inputs };
}
