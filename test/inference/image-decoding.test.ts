import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeGrey, UndecodableImage } from '../../src/inference/image-decoding.js';
import { decodePng } from '../../src/inference/png-decoding.js';
import { pngBomb, pngChunk, pngSignature } from './png-bomb.js';
import { encodePng } from './png-encoder.js';

const [width, height] = [37, 23];
// A gradient with some structure, so a wrong channel, row or order shows.
const greyValues = Buffer.from(
  Array.from({ length: width * height }, (_, index) => (index * 37 + (index % width) * 11) % 256),
);
const greyImage = () => sharp(greyValues, { raw: { width, height, channels: 1 } });

function maxDifference(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  return Array.from(actual).reduce(
    (max, value, index) => Math.max(max, Math.abs(value - (expected[index] as number))),
    0,
  );
}

describe('decoding images to grey in plain JavaScript', () => {
  it('reads PNGs of every colour type and depth, interlaced or not, as the grey values they hold', async () => {
    const pngs = {
      grey: await greyImage().toColourspace('b-w').png().toBuffer(),
      'grey 16-bit': await greyImage().toColourspace('grey16').png().toBuffer(),
      rgb: await greyImage().toColourspace('srgb').png().toBuffer(),
      'rgb 16-bit': await greyImage().toColourspace('rgb16').png().toBuffer(),
      palette: await greyImage().toColourspace('srgb').png({ palette: true, colours: 256, dither: 0 }).toBuffer(),
      interlaced: await greyImage().toColourspace('b-w').png({ progressive: true }).toBuffer(),
      'interlaced rgb 16-bit': await greyImage().toColourspace('rgb16').png({ progressive: true }).toBuffer(),
    };
    for (const [name, png] of Object.entries(pngs)) {
      const image = decodeGrey(png);
      expect([image.width, image.height], name).toEqual([width, height]);
      // Palettes quantise; the rest is exact but for rounding.
      expect(maxDifference(image.pixels, greyValues), name).toBeLessThanOrEqual(name === 'palette' ? 8 : 1);
    }
  });

  it('reads grey at every depth, palettes, colour and alpha, through all five row filters, with tRNS', () => {
    const [w, h] = [13, 11];
    const at = (index: number, levels: number) => (index * 7 + Math.floor(index / w) * 3) % levels;
    const indices = Array.from({ length: w * h }, (_, index) => index);
    for (const depth of [1, 2, 4, 8, 16] as const) {
      const levels = 2 ** depth;
      const samples = indices.map((index) => at(index, levels));
      const image = decodePng(encodePng({ width: w, height: h, colourType: 0, bitDepth: depth, samples }));
      const expected = samples.map((value) => (depth === 16 ? value >> 8 : Math.round((value * 255) / (levels - 1))));
      expect(Array.from(image.grey), `grey ${depth}-bit`).toEqual(expected);
      expect(image.alpha).toBeNull();
    }
    // Four palette entries: black, white, mid grey and a transparent red.
    const palette = Buffer.from([0, 0, 0, 255, 255, 255, 128, 128, 128, 255, 0, 0]);
    const paletteGrey = [0, 255, 128, 76];
    for (const depth of [2, 4, 8] as const) {
      const samples = indices.map((index) => at(index, 4));
      const image = decodePng(
        encodePng({
          width: w,
          height: h,
          colourType: 3,
          bitDepth: depth,
          samples,
          palette,
          transparency: Buffer.from([255, 255, 255, 0]),
        }),
      );
      expect(Array.from(image.grey), `palette ${depth}-bit`).toEqual(samples.map((entry) => paletteGrey[entry]));
      expect(Array.from(image.alpha!)).toEqual(samples.map((entry) => (entry === 3 ? 0 : 255)));
    }
    const colour = indices.flatMap((index) => [at(index, 256), at(index + 1, 256), at(index + 2, 256), at(index, 256)]);
    const luma = (r: number, g: number, b: number) => Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    const rgba = decodePng(encodePng({ width: w, height: h, colourType: 6, bitDepth: 8, samples: colour }));
    expect(Array.from(rgba.grey)).toEqual(
      indices.map((index) => luma(colour[index * 4]!, colour[index * 4 + 1]!, colour[index * 4 + 2]!)),
    );
    expect(Array.from(rgba.alpha!)).toEqual(indices.map((index) => colour[index * 4 + 3]));
    const rgb16 = indices.flatMap((index) => [
      at(index, 256) * 257,
      at(index + 1, 256) * 257,
      at(index + 2, 256) * 257,
    ]);
    // tRNS names one colour transparent: that of the first pixel.
    const key = Buffer.alloc(6);
    [0, 1, 2].forEach((channel) => key.writeUInt16BE(rgb16[channel]!, channel * 2));
    const keyed = decodePng(
      encodePng({ width: w, height: h, colourType: 2, bitDepth: 16, samples: rgb16, transparency: key }),
    );
    expect(Array.from(keyed.grey)).toEqual(
      indices.map((index) => luma(at(index, 256), at(index + 1, 256), at(index + 2, 256))),
    );
    expect(keyed.alpha![0]).toBe(0);
    expect(Array.from(keyed.alpha!).filter((alpha) => alpha === 0).length).toBe(
      indices.filter((index) => [0, 1, 2].every((channel) => rgb16[index * 3 + channel] === rgb16[channel])).length,
    );
  });

  it('reads grey and colour JPEGs as sharp does', async () => {
    for (const jpeg of [
      await greyImage().toColourspace('b-w').jpeg({ quality: 95 }).toBuffer(),
      await greyImage().toColourspace('srgb').jpeg({ quality: 95 }).toBuffer(),
      await greyImage().toColourspace('srgb').jpeg({ quality: 95, progressive: true }).toBuffer(),
    ]) {
      const expected = await sharp(jpeg).toColourspace('b-w').raw().toBuffer();
      expect(maxDifference(decodeGrey(jpeg).pixels, expected)).toBeLessThanOrEqual(3);
    }
  });

  it('puts transparent pictures on a background their ink stands out from', async () => {
    // Ink where the gradient is dark, fully transparent elsewhere.
    const alpha = Buffer.from(greyValues.map((value) => (value < 100 ? 255 : 0)));
    const ink = (level: number) =>
      sharp(Buffer.alloc(width * height, level), { raw: { width, height, channels: 1 } })
        .joinChannel(alpha, { raw: { width, height, channels: 1 } })
        .png()
        .toBuffer();
    const darkInk = decodeGrey(await ink(0)).pixels;
    const lightInk = decodeGrey(await ink(255)).pixels;
    for (let index = 0; index < width * height; index++) {
      const inked = (greyValues[index] as number) < 100;
      expect([darkInk[index], lightInk[index]]).toEqual(inked ? [0, 255] : [255, 0]);
    }
  });

  it('refuses a truncated image, and an interlaced PNG whose data inflates past its declared size', async () => {
    const png = await greyImage().png().toBuffer();
    expect(() => decodeGrey(png.subarray(0, png.length - 40))).toThrow(UndecodableImage);
    const jpeg = await greyImage().jpeg().toBuffer();
    expect(() => decodeGrey(jpeg.subarray(0, 200))).toThrow(UndecodableImage);
    // 64 x 64 declared, interlaced, and 32 MiB of zeros inside: an inflation bomb.
    const header = (await pngBomb(64, 64)).subarray(16, 29);
    header[12] = 1;
    const idat = zlib.deflateSync(Buffer.alloc(32 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat([
      pngSignature,
      pngChunk('IHDR', header),
      pngChunk('IDAT', idat),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
    const started = performance.now();
    expect(() => decodeGrey(bomb)).toThrow(/does not inflate to its declared size/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
