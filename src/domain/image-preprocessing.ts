// How a picture becomes a model's input: one pure function of its grey pixels, used by the server for
// uploaded images and by the dashboard for what is drawn, so both are read the same way.
import { resampleGrey, resizeGrey, toBytes, type GreyImage } from './grey-resampling.js';

export type { GreyImage } from './grey-resampling.js';

/**
 * `mnist`: as MNIST's digits were made (light ink on black, cropped to the ink, fitted into 20x20 and
 * centred by mass in 28x28); `resize`: the whole picture made grey and resized, nothing more.
 */
export const imagePreprocesses = ['mnist', 'resize'] as const;
export type ImagePreprocess = (typeof imagePreprocesses)[number];

/** The side of MNIST's images, and of the box their digits are fitted into. */
const mnistSide = 28;
const mnistBox = 20;
// Where MNIST's digits have their centre of mass: on pixel (14, 14), whose centre is at 14.5, half a
// pixel right of and below the middle (its makers shifted by whole pixels to index 14; the test
// set's centres average 14.5 in these coordinates).
const mnistCentre = 14.5;
// Below this contrast (of 255) between the background and the brightest ink there is no drawing.
const minContrast = 24;
// Shares of that contrast: fainter than `noiseFloor` is background (paper grain, JPEG noise); from
// `inkThreshold` on a pixel bounds the ink's box. Stroke edges between the two are kept, not boxed.
const noiseFloor = 0.2;
const inkThreshold = 0.4;

/** Whether a model of this input shape takes MNIST-like pictures: 28x28, one channel. */
export function takesMnistDigits(inputShape: readonly number[]): boolean {
  const [height, width, channels = 1, ...rest] = inputShape;
  return height === mnistSide && width === mnistSide && channels === 1 && rest.length === 0;
}

/** What a picture sent to a model of `inputShape` goes through unless the request says otherwise. */
export function defaultImagePreprocess(inputShape: readonly number[]): ImagePreprocess {
  return takesMnistDigits(inputShape) ? 'mnist' : 'resize';
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = values.sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** The median of the outermost pixels: the background, whatever the ink touches. */
function borderMedian({ width, height, pixels }: GreyImage): number {
  const border: number[] = [];
  for (let x = 0; x < width; x++) border.push(pixels[x] as number, pixels[(height - 1) * width + x] as number);
  for (let y = 1; y < height - 1; y++)
    border.push(pixels[y * width] as number, pixels[y * width + width - 1] as number);
  return median(border);
}

/**
 * Each pixel's ink, 0 (background) to 255 (the strongest ink): its distance from the background
 * towards the ink's side (light ink on a dark background, or dark ink on a light one, which is
 * thereby inverted), stretched so that noise below the floor is 0. Null when nothing stands out.
 * Bytes, not floats: a 4096x4096 photo's ink takes 16 MiB.
 */
function inkOf(image: GreyImage): Uint8ClampedArray | null {
  const background = borderMedian(image);
  const sign = background > 127 ? -1 : 1;
  const { pixels } = image;
  let peak = 0;
  for (let index = 0; index < image.width * image.height; index++)
    peak = Math.max(peak, sign * ((pixels[index] as number) - background));
  if (peak < minContrast) return null;
  const floor = peak * noiseFloor;
  const ink = new Uint8ClampedArray(image.width * image.height);
  for (let index = 0; index < ink.length; index++)
    ink[index] = ((sign * ((pixels[index] as number) - background) - floor) / (peak - floor)) * 255;
  return ink;
}

interface InkBox {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

/** The box of the pixels whose ink reaches the threshold (edges inclusive). */
function inkBox(ink: Uint8ClampedArray, width: number): InkBox {
  const box = { left: Number.POSITIVE_INFINITY, top: Number.POSITIVE_INFINITY, right: -1, bottom: -1 };
  const threshold = ((inkThreshold - noiseFloor) / (1 - noiseFloor)) * 255;
  for (let index = 0; index < ink.length; index++) {
    if ((ink[index] as number) < threshold) continue;
    const [x, y] = [index % width, Math.floor(index / width)];
    box.left = Math.min(box.left, x);
    box.right = Math.max(box.right, x);
    box.top = Math.min(box.top, y);
    box.bottom = Math.max(box.bottom, y);
  }
  return box;
}

/** The ink's centre of mass, in pixel coordinates (a pixel's centre is at `i + 0.5`). */
function centreOfMass(ink: Uint8ClampedArray, width: number): { x: number; y: number } {
  let [mass, x, y] = [0, 0, 0];
  for (let index = 0; index < ink.length; index++) {
    const weight = ink[index] as number;
    if (weight === 0) continue;
    mass += weight;
    x += weight * ((index % width) + 0.5);
    y += weight * (Math.floor(index / width) + 0.5);
  }
  return { x: x / mass, y: y / mass };
}

/**
 * Where the 28-pixel axis starts in the source so that the centre of mass lands where MNIST's do,
 * moved as little as needed to keep the whole fitted box inside it.
 */
function axisOrigin(centre: number, boxStart: number, boxEnd: number, scale: number): number {
  let origin = centre - mnistCentre / scale;
  const end = origin + mnistSide / scale;
  if (boxStart < origin) origin = boxStart;
  else if (boxEnd > end) origin = boxEnd - mnistSide / scale;
  return origin;
}

/**
 * A picture of one digit as MNIST shows digits: 28x28 values 0..255 of light ink on black, the ink's
 * box fitted into 20x20 keeping its aspect ratio, its centre of mass at the centre. A dark-on-light
 * picture (decided by the median of its border) is inverted first; an empty one gives all zeros.
 */
export function mnistDigit(image: GreyImage): Uint8Array {
  const ink = image.width > 0 && image.height > 0 ? inkOf(image) : null;
  if (!ink) return new Uint8Array(mnistSide * mnistSide);
  const box = inkBox(ink, image.width);
  const scale = mnistBox / Math.max(box.right - box.left + 1, box.bottom - box.top + 1);
  const centre = centreOfMass(ink, image.width);
  const fitted = resampleGrey(
    { width: image.width, height: image.height, pixels: ink },
    { size: mnistSide, scale, origin: axisOrigin(centre.x, box.left, box.right + 1, scale) },
    { size: mnistSide, scale, origin: axisOrigin(centre.y, box.top, box.bottom + 1, scale) },
    'black',
  );
  // MNIST's strokes peak at full white; a thin stroke averaged down to a few pixels is brought back.
  const peak = fitted.reduce((max, value) => Math.max(max, value), 0);
  return toBytes(peak > 0 ? fitted.map((value) => (value / peak) * 255) : fitted);
}

/** A picture as a model of input `[height, width, ...]` takes it, grey values 0..255 row by row. */
export function preprocessImage(
  image: GreyImage,
  preprocess: ImagePreprocess,
  [height, width]: readonly [number, number],
): Uint8Array {
  return preprocess === 'mnist' ? mnistDigit(image) : resizeGrey(image, width, height);
}
