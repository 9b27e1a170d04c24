import type { Dataset } from '@trainer/client';
import { defaultImagePreprocess, type ImagePreprocess } from '../../src/domain/image-preprocessing';

/** What a drawing stands for, and how its grey values (0 black .. 255 white) become a model's raw input. */
export interface DrawingTarget {
  /** 'digit': MNIST's digits, drawn and centred as MNIST shows them; 'image': any other 28x28 grey image. */
  subject: 'digit' | 'image';
  /** Class names in label order; null where the dataset names none. */
  classNames: (string | null)[];
  /** The raw input value of a grey value, in the range the dataset's examples take. */
  rawValue: (grey: number) => number;
  /** How the canvas becomes the model's 28x28 input: as the server reads a photo sent to this model. */
  preprocess: ImagePreprocess;
}

/** The canvas draws 28x28 single-channel pictures: a model trained on anything else has no use for one. */
export const drawableShape = [28, 28, 1] as const;

const isDrawableShape = (shape: readonly number[]) =>
  shape.length === drawableShape.length && shape.every((dimension, index) => dimension === drawableShape[index]);

/**
 * Whether a model trained on `dataset` can take a drawing, and how; null when it cannot: examples that
 * are not 28x28 single-channel images (an 8x8 upload, colour, a flat CSV of features).
 */
export function drawingTarget(dataset: Dataset): DrawingTarget | null {
  if (!isDrawableShape(dataset.inputShape)) return null;
  const classNames = Array.from({ length: dataset.numClasses }, (_, label) => dataset.classes[label]?.name ?? null);
  const subject = dataset.format === 'bundled' && dataset.name === 'mnist' ? 'digit' : 'image';
  const preprocess = defaultImagePreprocess(dataset.inputShape);
  // IDX images (and the bundled MNIST) are bytes: grey values as they are.
  if (dataset.format !== 'csv') return { subject, classNames, rawValue: (grey) => grey, preprocess };
  // A CSV's values are whatever its author wrote (0..255, 0..1, ...): black is the least value seen in
  // training, white the largest.
  const { scale, min, max } = dataset.statistics;
  const low = (min ?? 0) / scale;
  const high = (max ?? 255 * scale) / scale;
  return { subject, classNames, rawValue: (grey) => low + (grey / 255) * (high - low), preprocess };
}
