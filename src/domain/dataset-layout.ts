/**
 * The one binary form of an uploaded dataset, written by the API once the upload is valid and read by
 * workers: train features, train labels, test features, test labels, back to back. Features are
 * row-major, one example after another, as `featureType` (float32 little-endian); labels are uint16
 * little-endian. Counts and the feature count come from the dataset's row, not from the bytes.
 */
export type FeatureType = 'uint8' | 'float32';

export const featureTypes = ['uint8', 'float32'] as const satisfies readonly FeatureType[];

export const bytesPerFeature: Record<FeatureType, number> = { uint8: 1, float32: 4 };

export const bytesPerLabel = 2;

export interface DatasetLayout {
  featureType: FeatureType;
  /** Features per example (the input shape, flattened). */
  features: number;
  trainSize: number;
  testSize: number;
}

/** The four sections of the bytes in order, each with its offset and length. */
export function datasetSections(layout: DatasetLayout) {
  const exampleBytes = layout.features * bytesPerFeature[layout.featureType];
  const trainFeatures = { offset: 0, bytes: layout.trainSize * exampleBytes };
  const trainLabels = { offset: trainFeatures.bytes, bytes: layout.trainSize * bytesPerLabel };
  const testFeatures = { offset: trainLabels.offset + trainLabels.bytes, bytes: layout.testSize * exampleBytes };
  const testLabels = { offset: testFeatures.offset + testFeatures.bytes, bytes: layout.testSize * bytesPerLabel };
  return { trainFeatures, trainLabels, testFeatures, testLabels, total: testLabels.offset + testLabels.bytes };
}
