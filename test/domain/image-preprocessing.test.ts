import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resizeGrey } from '../../src/domain/grey-resampling.js';
import {
  defaultImagePreprocess,
  mnistDigit,
  preprocessImage,
  type GreyImage,
} from '../../src/domain/image-preprocessing.js';
import { readIdx } from '../../src/datasets/formats/idx.js';
import { mnistDataDirectory } from '../../src/datasets/loading/mnist.js';

const side = 28;

/** MNIST test digit `index`: 28x28 bytes, light ink on black. */
let mnistTest: (index: number) => Uint8Array;

/** `digit` scaled (nearest neighbour) to `size` x `size` at (`left`, `top`) of a `width` x `height` canvas. */
function placed(digit: Uint8Array, size: number, left: number, top: number, width: number, height: number) {
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      pixels[(top + y) * width + left + x] =
        digit[Math.floor((y * side) / size) * side + Math.floor((x * side) / size)]!;
  return { width, height, pixels };
}

const mapped = (image: GreyImage, map: (value: number) => number): GreyImage => ({
  ...image,
  pixels: Uint8Array.from(image.pixels as Uint8Array, map),
});

/** The box of the pixels at or above `threshold` (a quarter of full ink: stroke edges are soft). */
function boxOf(pixels: ArrayLike<number>, threshold = 64) {
  let [left, top, right, bottom] = [side, side, -1, -1];
  for (let index = 0; index < side * side; index++) {
    if ((pixels[index] as number) < threshold) continue;
    const [x, y] = [index % side, Math.floor(index / side)];
    [left, right, top, bottom] = [Math.min(left, x), Math.max(right, x), Math.min(top, y), Math.max(bottom, y)];
  }
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

function centreOfMass(pixels: ArrayLike<number>) {
  let [mass, x, y] = [0, 0, 0];
  for (let index = 0; index < side * side; index++) {
    const value = pixels[index] as number;
    mass += value;
    x += value * ((index % side) + 0.5);
    y += value * (Math.floor(index / side) + 0.5);
  }
  return { x: x / mass, y: y / mass };
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const mean = (values: ArrayLike<number>) => Array.from(values).reduce((sum, value) => sum + value, 0) / values.length;
  const [meanA, meanB] = [mean(a), mean(b)];
  let [ab, aa, bb] = [0, 0, 0];
  for (let index = 0; index < a.length; index++) {
    const [da, db] = [(a[index] as number) - meanA, (b[index] as number) - meanB];
    [ab, aa, bb] = [ab + da * db, aa + da * da, bb + db * db];
  }
  return ab / Math.sqrt(aa * bb);
}

describe('MNIST preprocessing of a picture', () => {
  beforeAll(async () => {
    const { values } = await readIdx(path.join(mnistDataDirectory(), 't10k-images-idx3-ubyte'));
    mnistTest = (index) => values.subarray(index * side * side, (index + 1) * side * side);
  });

  it('centres a digit drawn small in a corner by its mass, its ink fitted to 20 pixels', () => {
    for (const [index, size] of [0, 1, 2, 3, 4, 7].flatMap((index) => [14, 40].map((size) => [index, size] as const))) {
      const corner = placed(mnistTest(index), size, 2, 3, 160, 120);
      const digit = mnistDigit(corner);
      const box = boxOf(digit);
      expect(Math.max(box.width, box.height), `digit ${index}`).toBeGreaterThanOrEqual(19);
      expect(Math.max(box.width, box.height), `digit ${index}`).toBeLessThanOrEqual(21);
      // On pixel (14, 14), whose centre is at 14.5, as in MNIST.
      const centre = centreOfMass(digit);
      expect(Math.abs(centre.x - 14.5), `digit ${index}`).toBeLessThan(0.6);
      expect(Math.abs(centre.y - 14.5), `digit ${index}`).toBeLessThan(0.6);
      expect(Math.max(...digit)).toBe(255);
      // What it is stays what it was: close to MNIST's own picture of it.
      expect(correlation(digit, mnistTest(index)), `digit ${index}`).toBeGreaterThan(0.55);
    }
  });

  it('keeps the aspect ratio: a tall thin stroke is 20 high and stays thin', () => {
    const pixels = new Uint8Array(200 * 200);
    for (let y = 40; y < 160; y++) for (let x = 95; x < 107; x++) pixels[y * 200 + x] = 255;
    const box = boxOf(mnistDigit({ width: 200, height: 200, pixels }));
    expect(box.height).toBeGreaterThanOrEqual(19);
    expect(box.height).toBeLessThanOrEqual(21);
    expect(box.width).toBeLessThanOrEqual(3);
  });

  it('inverts dark ink on a light background, on white or on grey paper', () => {
    const onBlack = placed(mnistTest(5), 40, 60, 20, 150, 100);
    const expected = mnistDigit(onBlack);
    expect(mnistDigit(mapped(onBlack, (value) => 255 - value))).toEqual(expected);
    // Pencil on grey paper: ink 60 on a 210 background.
    const paper = mnistDigit(mapped(onBlack, (value) => 210 - (value * 150) / 255));
    expect(correlation(paper, expected)).toBeGreaterThan(0.99);
    expect(Math.max(...paper)).toBe(255);
    expect(boxOf(paper)).toEqual(boxOf(expected));
  });

  it('gives all zeros for an empty or a blank picture, and never throws', () => {
    const blanks: GreyImage[] = [
      { width: 0, height: 0, pixels: new Uint8Array(0) },
      { width: 1, height: 1, pixels: Uint8Array.of(255) },
      { width: 64, height: 48, pixels: new Uint8Array(64 * 48) },
      { width: 64, height: 48, pixels: new Uint8Array(64 * 48).fill(255) },
      // Faint noise, as a photo of blank paper.
      { width: 64, height: 48, pixels: Uint8Array.from({ length: 64 * 48 }, (_, index) => 200 + ((index * 7) % 13)) },
    ];
    for (const blank of blanks) expect(Array.from(mnistDigit(blank))).toEqual(new Array(784).fill(0));
    // One lit pixel is a (tiny) drawing, not a crash.
    const dot = new Uint8Array(50 * 50);
    dot[10 * 50 + 40] = 255;
    const centred = mnistDigit({ width: 50, height: 50, pixels: dot });
    expect(centreOfMass(centred).x).toBeCloseTo(14.5, 0);
    expect(centreOfMass(centred).y).toBeCloseTo(14.5, 0);
  });

  it('is the default for 28x28 single-channel models only; resize leaves a 28x28 picture as it is', () => {
    expect(defaultImagePreprocess([28, 28, 1])).toBe('mnist');
    expect(defaultImagePreprocess([28, 28])).toBe('mnist');
    for (const shape of [[8, 8, 1], [28, 28, 3], [784], [32, 32, 1]])
      expect(defaultImagePreprocess(shape)).toBe('resize');
    const digit = mnistTest(9);
    const same = preprocessImage({ width: side, height: side, pixels: digit }, 'resize', [side, side]);
    expect(same).toEqual(Uint8Array.from(digit));
    // Twice the size (nearest neighbour) and back: nearly the same picture.
    const twice = placed(digit, 56, 0, 0, 56, 56);
    expect(correlation(resizeGrey(twice, side, side), digit)).toBeGreaterThan(0.95);
  });
});
