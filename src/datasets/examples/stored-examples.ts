// Single examples of uploaded datasets, read from their stored form (src/domain/dataset-layout.ts)
// by byte range, so showing one example reads that example and its label, not the dataset.
import { bytesPerFeature, bytesPerLabel, datasetSections, type FeatureType } from '../../domain/dataset-layout.js';
import type { DatasetExample, DatasetSplit, PictureChannels } from './examples.js';

/** What locating and drawing an uploaded dataset's example needs of its record. */
export interface StoredExamples {
  artifactId: string;
  featureType: FeatureType;
  inputShape: readonly number[];
  trainSize: number;
  testSize: number;
  /** Stored value * scale is the feature `featureMin` and `featureMax` (of the training split) describe. */
  scale: number;
  featureMin: number;
  featureMax: number;
}

/** Bytes `length` from `offset` of an artifact (fewer where it ends); null for an unknown one. */
export type ReadRange = (artifactId: string, range: { offset: number; length: number }) => Promise<Buffer | null>;

const isPictureChannels = (count: number): count is PictureChannels => count >= 1 && count <= 4;

/**
 * The picture an example's shape makes: [h, w, c] with 1 to 4 channels is an image (grey, grey and
 * alpha, RGB, RGBA), [h, w] a grey one, [n] a strip one pixel high, and any other shape its first
 * dimension by all the others, in grey.
 */
export function pictureOf(shape: readonly number[]): { height: number; width: number; channels: PictureChannels } {
  const [first = 1, ...rest] = shape;
  if (rest.length === 0) return { height: 1, width: first, channels: 1 };
  const [width = 1, channels = 1] = rest;
  if (rest.length <= 2 && isPictureChannels(channels)) return { height: first, width, channels };
  return { height: first, width: rest.reduce((product, dimension) => product * dimension, 1), channels: 1 };
}

/**
 * Stored values as 0..255: bytes (pixels) as they are; floats (CSV) from the training features'
 * lowest to their highest as 0 to 255, so the picture shows what varies whatever the values' range.
 */
function toPixels(values: Buffer, dataset: StoredExamples): Uint8Array {
  if (dataset.featureType === 'uint8') return values;
  const count = values.length / bytesPerFeature.float32;
  const pixels = new Uint8Array(count);
  const range = dataset.featureMax - dataset.featureMin;
  if (!(range > 0)) return pixels;
  for (let index = 0; index < count; index++) {
    const scaled = values.readFloatLE(index * bytesPerFeature.float32) * dataset.scale;
    // Test examples may lie outside the training features' range: they show as black or white.
    pixels[index] = Math.min(255, Math.max(0, Math.round((255 * (scaled - dataset.featureMin)) / range)));
  }
  return pixels;
}

/** Example `index` of a split of an uploaded dataset, or `outOfRange` with the split's size. */
export async function readStoredExample(
  dataset: StoredExamples,
  split: DatasetSplit,
  index: number,
  read: ReadRange,
): Promise<DatasetExample | { outOfRange: true; count: number }> {
  const count = split === 'train' ? dataset.trainSize : dataset.testSize;
  if (!Number.isInteger(index) || index < 0 || index >= count) return { outOfRange: true, count };
  const features = dataset.inputShape.reduce((product, dimension) => product * dimension, 1);
  const sections = datasetSections({
    featureType: dataset.featureType,
    features,
    trainSize: dataset.trainSize,
    testSize: dataset.testSize,
  });
  const exampleBytes = features * bytesPerFeature[dataset.featureType];
  const featureSection = split === 'train' ? sections.trainFeatures : sections.testFeatures;
  const labelSection = split === 'train' ? sections.trainLabels : sections.testLabels;
  const [values, label] = await Promise.all([
    read(dataset.artifactId, { offset: featureSection.offset + index * exampleBytes, length: exampleBytes }),
    read(dataset.artifactId, { offset: labelSection.offset + index * bytesPerLabel, length: bytesPerLabel }),
  ]);
  if (values?.length !== exampleBytes || label?.length !== bytesPerLabel) {
    throw new Error(`the stored examples of artifact ${dataset.artifactId} end before example ${index} of ${split}`);
  }
  const { height, width, channels } = pictureOf(dataset.inputShape);
  return { pixels: toPixels(values, dataset), shape: [height, width], channels, label: label.readUInt16LE(0), count };
}
