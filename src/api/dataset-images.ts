import sharp from 'sharp';
import { ResourceNotFound } from '../domain/errors.js';
import type { DatasetExamples, DatasetSplit } from '../datasets/examples.js';

/** One example of a dataset as a PNG, each pixel drawn as `scale` x `scale`; its label too. */
export async function renderExample(
  examples: DatasetExamples,
  request: { dataset: string; split: DatasetSplit; index: number; scale: number },
): Promise<{ png: Buffer; label: number }> {
  const { dataset, split, index, scale } = request;
  const found = await examples.example(dataset, split, index);
  if ('unknownDataset' in found) throw new ResourceNotFound(`there is no dataset named ${JSON.stringify(dataset)}`);
  if ('outOfRange' in found)
    throw new ResourceNotFound(`the ${split} split of ${dataset} has examples 0 to ${found.count - 1}; not ${index}`);
  const [height, width] = found.shape;
  // sharp encodes on libuv's thread pool, off the event loop.
  const png = await sharp(found.pixels, { raw: { width, height, channels: 1 } })
    .resize(width * scale, height * scale, { kernel: 'nearest' })
    .toColourspace('b-w')
    .png()
    .toBuffer();
  return { png, label: found.label };
}
