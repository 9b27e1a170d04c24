import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodedBytes, readImageHeader } from '../../src/inference/image-header.js';
import { checkImages, defaultImageLimits } from '../../src/inference/images.js';
import { pngBomb } from './png-bomb.js';

const base64 = (bytes: Buffer) => bytes.toString('base64');
const grey = (width: number, height: number) =>
  sharp(Buffer.alloc(width * height, 128), { raw: { width, height, channels: 1 } });

describe('checking images before they are decoded', () => {
  // The largest image the default limits allow: 128 MiB decoded, 130 KiB as it is sent.
  let largest: Buffer;
  beforeAll(async () => {
    largest = await pngBomb(4096, 4096, { colourType: 6, bitDepth: 16 });
  });

  it('reads width, height, channels and bytes a sample from PNG and JPEG headers, past JPEG metadata', async () => {
    const cases: [Buffer, number][] = [
      [await grey(30, 20).toColourspace('b-w').png().toBuffer(), 30 * 20],
      [await grey(30, 20).toColourspace('rgb16').png().toBuffer(), 30 * 20 * 3 * 2],
      [await pngBomb(30, 20, { colourType: 4, bitDepth: 16 }), 30 * 20 * 2 * 2],
      [await grey(30, 20).png({ palette: true }).toBuffer(), 30 * 20 * 4],
      [await grey(30, 20).toColourspace('srgb').jpeg().toBuffer(), 30 * 20 * 3],
      [
        await grey(30, 20)
          .toColourspace('b-w')
          .jpeg()
          .withExif({ IFD0: { Copyright: 'x'.repeat(3000) } })
          .toBuffer(),
        30 * 20,
      ],
    ];
    for (const [index, [bytes, expected]] of cases.entries()) {
      const header = readImageHeader(bytes);
      expect(header, `image ${index}`).toMatchObject({ width: 30, height: 20 });
      expect(decodedBytes(header!), `image ${index}`).toBe(expected);
    }
    expect(readImageHeader(largest)).toMatchObject({ width: 4096, height: 4096, channels: 4, bytesPerSample: 2 });
    expect(decodedBytes(readImageHeader(largest)!)).toBe(128 * 1024 * 1024);
    expect(readImageHeader(Buffer.from('not an image'))).toBeNull();
    expect(readImageHeader((await grey(30, 20).jpeg().toBuffer()).subarray(0, 6))).toBeNull();
  });

  it('refuses images that together decode to more than the limit, naming the limit, before any decoding', async () => {
    const limits = { ...defaultImageLimits, maxDecodedBytes: 1000 };
    const small = base64(await grey(20, 20).toColourspace('b-w').png().toBuffer()); // 400 bytes decoded
    const big = base64(await grey(20, 20).toColourspace('rgb16').png().toBuffer()); // 2,400
    expect(checkImages([small, small], 10, limits).ok).toBe(true);
    const together = checkImages([small, small, small], 10, limits);
    expect(!together.ok && together.error).toEqual({
      code: 'images_too_large',
      message: 'the images of a request may decode to at most 1000 bytes',
      issues: [
        {
          path: 'images',
          message: 'decode to 1200 bytes together, more than the limit of 1000; send fewer or smaller images a request',
        },
      ],
    });
    const alone = checkImages([small, big], 10, limits);
    expect(!alone.ok && alone.error.issues).toEqual([
      {
        path: 'images[1]',
        message: 'decodes to 20 x 20 pixels x 3 channels x 2 bytes = 2400 bytes, more than the limit of 1000',
      },
    ]);
  });

  it('lets one 4096 x 4096 16-bit RGBA PNG through by default, and refuses two', () => {
    const bomb = base64(largest);
    expect(checkImages([bomb], 10).ok).toBe(true);
    const two = checkImages([bomb, bomb], 10);
    expect(!two.ok && two.error.code).toBe('images_too_large');
    expect(!two.ok && two.error.issues[0]?.message).toMatch(
      /268435456 bytes together, more than the limit of 134217728/,
    );
  });
});
