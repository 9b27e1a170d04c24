import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdxImages } from '../../../src/datasets/ingestion/idx-upload.js';
import { SpoolWriter, UploadProblem } from '../../../src/datasets/ingestion/spool.js';
import { idxFile } from '../../helpers/dataset-files.js';

/** The pieces of a generator as file content, pulled one at a time as the reader asks for them. */
function contentOf(pieces: Generator<Buffer>): AsyncIterable<Buffer> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.resolve(pieces.next()),
      return: () => Promise.resolve(pieces.return(undefined)),
    }),
  };
}

describe('readIdxImages', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'idx-reader-test-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('refuses examples above the size limit from the header, before pulling any pixels', async () => {
    let piecesPulled = 0;
    function* content() {
      yield idxFile([2, 25_000, 25_000], []);
      // What a 1.2 MB gzip of two 25,000 x 25,000 images unpacks to; none of it should be asked for.
      for (let piece = 0; piece < 64; piece++) {
        piecesPulled++;
        yield Buffer.alloc(1024 * 1024);
      }
    }
    const out = await SpoolWriter.create(path.join(directory, 'features'));
    const limits = { maxExamples: 1000, maxStoredBytes: 2 ** 40, maxExampleBytes: 16 * 1024 * 1024 };
    const refusal = await readIdxImages(contentOf(content()), 'trainImages', out, limits).catch(
      (error: unknown) => error,
    );
    await out.close();
    expect(refusal).toBeInstanceOf(UploadProblem);
    expect((refusal as UploadProblem).issue).toEqual({
      path: 'trainImages',
      message: 'byte 8: an example of 25000x25000 is 625000000 bytes; at most 16777216 (DATASET_MAX_EXAMPLE_BYTES)',
    });
    expect(piecesPulled).toBe(0);
    expect(out.bytes).toBe(0);
  });

  it('takes examples up to the limit', async () => {
    const out = await SpoolWriter.create(path.join(directory, 'fits'));
    const limits = { maxExamples: 1000, maxStoredBytes: 2 ** 40, maxExampleBytes: 16 };
    const read = await readIdxImages(
      contentOf(
        (function* () {
          yield idxFile([3, 4, 4], new Array<number>(48).fill(7));
        })(),
      ),
      'trainImages',
      out,
      limits,
    );
    await out.close();
    expect(read).toEqual({ count: 3, shape: [4, 4, 1] });
    expect(out.bytes).toBe(48);
  });
});
