import sharp from 'sharp';
import { InvalidRequest, ResourceNotFound } from '../../domain/errors.js';
import type { DatasetExample, DatasetSplit, FoundExample } from '../../datasets/examples/examples.js';

/** Most pixels a drawn example may have once scaled: a 4096x4096 picture. */
const maxDrawnPixels = 4096 * 4096;

function checkedExample(found: FoundExample, dataset: string, split: DatasetSplit, index: number): DatasetExample {
  if ('unknownDataset' in found) throw new ResourceNotFound(`there is no dataset named ${JSON.stringify(dataset)}`);
  if ('outOfRange' in found)
    throw new ResourceNotFound(`the ${split} split of ${dataset} has examples 0 to ${found.count - 1}; not ${index}`);
  return found;
}

/**
 * One example of a dataset as a PNG, each pixel drawn as `scale` x `scale` (less where that would pass
 * 4096x4096 pixels); its label too.
 */
export async function renderExample(
  found: FoundExample,
  request: { dataset: string; split: DatasetSplit; index: number; scale: number },
): Promise<{ png: Buffer; label: number }> {
  const { dataset, split, index, scale } = request;
  const example = checkedExample(found, dataset, split, index);
  const [height, width] = example.shape;
  const channels = example.channels ?? 1;
  if (height * width > maxDrawnPixels) {
    throw InvalidRequest.of('params', [
      {
        path: 'index',
        message: `the example is ${width}x${height}; examples above ${maxDrawnPixels} pixels are not drawn`,
      },
    ]);
  }
  // A scale that would pass the bound is reduced to the largest that keeps within it.
  const drawnScale = Math.min(scale, Math.floor(Math.sqrt(maxDrawnPixels / (height * width))));
  // sharp encodes on libuv's thread pool, off the event loop.
  const drawn = { width: width * drawnScale, height: height * drawnScale, kernel: 'nearest' as const };
  const image = sharp(example.pixels, { raw: { width, height, channels } }).resize(drawn);
  const png = await (channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
  return { png, label: example.label };
}
