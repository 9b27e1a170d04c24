// The API's side of image decoding: a request's checked images shared out to a small pool of decoder
// threads (decode-thread.ts) and their model inputs joined again in request order.
import { Piscina } from 'piscina';
import type { ImagePreprocess } from '../domain/image-preprocessing.js';
import type { DecodeResult, DecodeTask } from './protocol.js';
import { invalid, type Packed } from './validation.js';

/** What the images of a request become: the model's `[height, width]` input, prepared as `preprocess` says. */
export interface ImageTarget {
  preprocess: ImagePreprocess;
  height: number;
  width: number;
}

/** The images in up to `parts` runs of about equal decoding work, each end to end in one buffer. */
function decodeTasks(images: Uint8Array[], decodedBytes: number[], parts: number, target: ImageTarget): DecodeTask[] {
  const share = decodedBytes.reduce((sum, size) => sum + size, 0) / Math.min(parts, images.length);
  const tasks: DecodeTask[] = [];
  let [first, work] = [0, 0];
  for (let index = 0; index < images.length; index++) {
    work += decodedBytes[index] as number;
    if (index < images.length - 1 && work < share * (tasks.length + 1)) continue;
    const run = images.slice(first, index + 1);
    const bytes = new Uint8Array(run.reduce((sum, image) => sum + image.length, 0));
    const ends = new Uint32Array(run.length);
    run.reduce((offset, image, position) => (bytes.set(image, offset), (ends[position] = offset + image.length)), 0);
    tasks.push({ bytes, ends, firstIndex: first, ...target });
    first = index + 1;
  }
  return tasks;
}

/**
 * A pool of `threads` image decoder threads, started at the first image (an API that is never sent
 * one holds none). `decode` answers the images' model inputs, row after row, or the first image that
 * could not be decoded.
 */
export function createImageDecoder(threadFile: string, threads: number) {
  let pool: Piscina<DecodeTask, DecodeResult> | undefined;
  const started = () =>
    (pool ??= new Piscina<DecodeTask, DecodeResult>({
      filename: threadFile,
      minThreads: threads,
      maxThreads: threads,
    }));

  return {
    async decode(images: Uint8Array[], decodedBytes: number[], target: ImageTarget): Promise<Packed> {
      const tasks = decodeTasks(images, decodedBytes, threads, target);
      const results = await Promise.all(
        tasks.map((task) =>
          started().run(task, { transferList: [task.bytes.buffer as ArrayBuffer, task.ends.buffer as ArrayBuffer] }),
        ),
      );
      const issues = results.flatMap((result) => (result.ok ? [] : [result.issue]));
      if (issues.length > 0) return { ok: false, error: invalid(issues, 'the request has invalid images') };
      const values = new Float32Array(images.length * target.height * target.width);
      let offset = 0;
      for (const result of results)
        if (result.ok) {
          values.set(result.inputs, offset);
          offset += result.inputs.length;
        }
      return { ok: true, values, rows: images.length };
    },

    close: async () => pool?.destroy(),
  };
}

export type ImageDecoder = ReturnType<typeof createImageDecoder>;
