import { classLimits } from '../../domain/datasets.js';
import { IdxProblem, readIdxHeader, readIdxValues, type IdxStart } from '../formats/idx.js';
import { UploadProblem, type ReadLimits, type SpoolWriter } from './spool.js';

// An uploaded IDX split, read by the one IDX reader (formats/idx.ts) as it streams in, held to the
// upload's limits from its header on, and written to the spool in the stored form.

/**
 * Reads the header of the IDX file `content` (a `kind` file of one of `ranks` dimensions), checks its
 * example count against the limit, and hands both to `readBody` with the pieces after the header.
 * A problem of the file is an UploadProblem of `field`, at the byte it shows at. The source is let go
 * however that ends, so a file refused early is not read to its end.
 */
async function readUploadedIdx<Result>(
  content: AsyncIterable<Buffer>,
  field: string,
  { kind, ranks, limits }: { kind: 'images' | 'labels'; ranks: readonly number[]; limits: ReadLimits },
  readBody: (start: IdxStart, count: number, pieces: AsyncIterator<Buffer>) => Promise<Result>,
): Promise<Result> {
  const pieces = content[Symbol.asyncIterator]();
  try {
    const start = await readIdxHeader(pieces, { kind, ranks });
    const count = start.header.dimensions[0] ?? 0;
    if (count > limits.maxExamples) {
      throw new UploadProblem(
        field,
        `byte 4: ${count} ${kind === 'images' ? 'examples' : kind}; a dataset may have at most ${limits.maxExamples} examples (DATASET_MAX_EXAMPLES)`,
      );
    }
    return await readBody(start, count, pieces);
  } catch (error) {
    throw error instanceof IdxProblem ? new UploadProblem(field, error.message) : error;
  } finally {
    await pieces.return?.();
  }
}

export interface IdxImages {
  count: number;
  /** One example's shape: [rows, columns, 1] for grey images, [features] for flat vectors. */
  shape: number[];
}

/** Reads an IDX images file (count, then one example's dimensions; unsigned bytes), copying pixels to `out`. */
export async function readIdxImages(
  content: AsyncIterable<Buffer>,
  field: string,
  out: SpoolWriter,
  limits: ReadLimits,
): Promise<IdxImages> {
  return readUploadedIdx(content, field, { kind: 'images', ranks: [2, 3, 4], limits }, async (start, count, pieces) => {
    const exampleDimensions = start.header.dimensions.slice(1);
    const perExample = exampleDimensions.reduce((product, size) => product * size, 1);
    if (perExample > limits.maxExampleBytes) {
      throw new UploadProblem(
        field,
        `byte 8: an example of ${exampleDimensions.join('x')} is ${perExample} bytes; at most ${limits.maxExampleBytes} (DATASET_MAX_EXAMPLE_BYTES)`,
      );
    }
    const expected = count * perExample;
    if (expected > limits.maxStoredBytes) {
      throw new UploadProblem(
        field,
        `byte 4: ${expected} bytes of images are more than the ${limits.maxStoredBytes} bytes of storage left for datasets (DATASET_MAX_TOTAL_BYTES)`,
      );
    }
    const describe = () => `${count} examples of ${exampleDimensions.join('x')}`;
    await readIdxValues(pieces, start, expected, (piece) => out.write(piece), describe);
    // Grey images get an explicit channel, as image layers expect: [rows, columns, 1].
    const shape = exampleDimensions.length === 2 ? [...exampleDimensions, 1] : exampleDimensions;
    return { count, shape };
  });
}

export interface IdxLabels {
  count: number;
  maxLabel: number;
}

/** Reads an IDX labels file (one dimension; unsigned bytes), writing each label as uint16 LE to `out`. */
export async function readIdxLabels(
  content: AsyncIterable<Buffer>,
  field: string,
  out: SpoolWriter,
  limits: ReadLimits,
): Promise<IdxLabels> {
  return readUploadedIdx(content, field, { kind: 'labels', ranks: [1], limits }, async (start, count, pieces) => {
    const bound = limits.numClasses ?? classLimits.max;
    let maxLabel = 0;
    const sink = async (piece: Buffer, offset: number) => {
      // Labels double in size (uint16): a piece goes in slices that fit the writer's buffer.
      const slice = Math.floor(out.capacity / 2);
      for (let first = 0; first < piece.length; first += slice) {
        const part = piece.subarray(first, first + slice);
        const { buffer, offset: at } = await out.reserve(part.length * 2);
        for (let index = 0; index < part.length; index++) {
          const label = part[index] as number;
          if (label >= bound) {
            const example = offset + first + index;
            throw new UploadProblem(
              field,
              `byte ${start.header.dataOffset + example} (example ${example}): label ${label} is outside 0..${bound - 1}`,
            );
          }
          if (label > maxLabel) maxLabel = label;
          buffer.writeUInt16LE(label, at + index * 2);
        }
        out.commit(part.length * 2);
      }
    };
    await readIdxValues(pieces, start, count, sink, (received) => `${received} labels`);
    return { count, maxLabel };
  });
}
