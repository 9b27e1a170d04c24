import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { datasetSections, type FeatureType } from '../../domain/dataset-layout.js';
import { classLimits, type DatasetInfo } from '../../domain/datasets.js';
import { InvalidDataset } from '../../domain/errors.js';
import { readCsv, type CsvColumns } from '../formats/csv-reader.js';
import { readIdxImages, readIdxLabels } from './idx-upload.js';
import { contentOf, SpoolWriter, UploadProblem, type ReadLimits } from './spool.js';
import type { ReceivedUpload, SpooledFile } from './received-upload.js';
import { declaredClasses, type UploadSettings } from './upload-settings.js';
import { holdOut, type SplitFiles } from './hold-out.js';
import { featureStatistics, type FeatureStatistics } from './statistics.js';

type SplitName = 'train' | 'test';

/** An upload turned into the stored form, validated, with everything the dataset row records. */
export interface BuiltDataset {
  info: DatasetInfo;
  format: 'idx' | 'csv';
  featureType: FeatureType;
  scale: number;
  statistics: FeatureStatistics;
  trainClassCounts: number[];
  testClassCounts: number[];
  bytes: number;
  /** The stored form's bytes, read from local files as they are consumed. */
  content(): AsyncIterable<Uint8Array>;
}

const maxProblems = 10;

async function withWriters<T>(
  directory: string,
  split: SplitName,
  run: (features: SpoolWriter, labels: SpoolWriter) => Promise<T>,
) {
  const features = await SpoolWriter.create(path.join(directory, `${split}.features`));
  const labels = await SpoolWriter.create(path.join(directory, `${split}.labels`));
  try {
    return { result: await run(features, labels), features: features.path, labels: labels.path };
  } finally {
    await Promise.allSettled([features.close(), labels.close()]);
  }
}

/** Both files of an IDX split, each read whole even when the other is broken, so both report. */
async function idxSplit(
  files: ReceivedUpload['files'],
  split: SplitName,
  directory: string,
  limits: ReadLimits,
  problems: UploadProblem[],
) {
  const imagesField = `${split}Images` as const;
  const labelsField = `${split}Labels` as const;
  const images = files[imagesField] as SpooledFile;
  const labels = files[labelsField] as SpooledFile;
  const written = await withWriters(directory, split, async (featureOut, labelOut) => {
    const [read, readLabels] = await Promise.allSettled([
      readIdxImages(contentOf(images.path, imagesField), imagesField, featureOut, limits),
      readIdxLabels(contentOf(labels.path, labelsField), labelsField, labelOut, limits),
    ]);
    for (const outcome of [read, readLabels]) if (outcome.status === 'rejected') collect(outcome.reason, problems);
    if (read.status === 'rejected' || readLabels.status === 'rejected') return null;
    if (read.value.count !== readLabels.value.count) {
      problems.push(
        new UploadProblem(
          labelsField,
          `byte 4: ${readLabels.value.count} labels, but ${imagesField} has ${read.value.count} examples`,
        ),
      );
      return null;
    }
    return { count: read.value.count, shape: read.value.shape, maxLabel: readLabels.value.maxLabel };
  });
  return written.result
    ? {
        ...written.result,
        features: written.features,
        labels: written.labels,
        labelField: labelsField,
        featureField: imagesField,
      }
    : null;
}

async function csvSplit(
  file: SpooledFile,
  split: SplitName,
  directory: string,
  settings: UploadSettings,
  limits: ReadLimits,
  columns?: CsvColumns,
) {
  const written = await withWriters(directory, split, (features, labels) =>
    readCsv(contentOf(file.path, split), split, { features, labels }, settings.csv, limits, columns),
  );
  return {
    ...written.result,
    shape: [written.result.features],
    features: written.features,
    labels: written.labels,
    labelField: split,
    featureField: split,
  };
}

function collect(error: unknown, problems: UploadProblem[]): void {
  if (error instanceof UploadProblem) problems.push(error);
  else throw error;
}

/** Reads and checks every uploaded file into the stored form; InvalidDataset with the first problems. */
async function readSplits(upload: ReceivedUpload, settings: UploadSettings, directory: string, limits: ReadLimits) {
  const problems: UploadProblem[] = [];
  const splits: Partial<Record<SplitName, SplitFiles>> = {};
  const names: SplitName[] = settings.testFraction === undefined ? ['train', 'test'] : ['train'];
  if (settings.format === 'idx') {
    for (const split of names) {
      const files = await idxSplit(upload.files, split, directory, limits, problems);
      if (files) splits[split] = files;
    }
  } else {
    let columns: CsvColumns | undefined;
    for (const split of names) {
      try {
        const files = await csvSplit(upload.files[split] as SpooledFile, split, directory, settings, limits, columns);
        columns = { columns: files.columns, labelIndex: files.labelIndex };
        splits[split] = files;
      } catch (error) {
        collect(error, problems);
        break;
      }
    }
  }
  if (problems.length > 0) throw new InvalidDataset(problems.slice(0, maxProblems).map((problem) => problem.issue));
  return splits as { train: SplitFiles; test?: SplitFiles };
}

/**
 * The shape of one example: as given, when its size matches the files, else the files' own. Both
 * splits' examples must have the same shape, not merely as many values (14x56 images are no 28x28).
 */
function exampleShape(settings: UploadSettings, train: SplitFiles, test: SplitFiles | undefined): number[] {
  const size = (shape: readonly number[]) => shape.reduce((product, dimension) => product * dimension, 1);
  const sameShape = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((dimension, index) => dimension === b[index]);
  if (test && !sameShape(test.shape, train.shape)) {
    throw new InvalidDataset([
      {
        path: test.featureField,
        message: `examples of ${test.shape.join('x')}, but the train split's are ${train.shape.join('x')}`,
      },
    ]);
  }
  if (!settings.shape) return train.shape;
  if (size(settings.shape) !== size(train.shape)) {
    throw new InvalidDataset([
      {
        path: 'shape',
        message: `[${settings.shape.join(',')}] has ${size(settings.shape)} values, but each example has ${size(train.shape)} features`,
      },
    ]);
  }
  return settings.shape;
}

function classCount(settings: UploadSettings, splits: SplitFiles[]): number {
  const declared = declaredClasses(settings);
  if (declared !== undefined) return declared;
  const highest = Math.max(...splits.map((split) => split.maxLabel));
  if (highest + 1 < classLimits.min) {
    const field = splits[0]?.labelField ?? 'train';
    throw new InvalidDataset([
      { path: field, message: `every label is ${highest}: a dataset needs at least ${classLimits.min} classes` },
    ]);
  }
  return highest + 1;
}

async function classCounts(labelsPath: string, classes: number): Promise<number[]> {
  const bytes = await readFile(labelsPath);
  const counts = new Array<number>(classes).fill(0);
  for (let offset = 0; offset < bytes.length; offset += 2) counts[bytes.readUInt16LE(offset)]! += 1;
  return counts;
}

async function* concatenated(paths: readonly string[]): AsyncGenerator<Uint8Array> {
  for (const file of paths) yield* createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
}

/**
 * Validates an upload's files and turns them into the stored form in `directory`: IDX pixels stay
 * bytes (scale 1/255), CSV values become float32 (scale 1, no scaling: statistics of raw values).
 */
export async function buildDataset(
  upload: ReceivedUpload,
  settings: UploadSettings,
  directory: string,
  limits: ReadLimits,
): Promise<BuiltDataset> {
  const splits = await readSplits(upload, settings, directory, { ...limits, numClasses: declaredClasses(settings) });
  const featureType: FeatureType = settings.format === 'idx' ? 'uint8' : 'float32';
  const scale = settings.format === 'idx' ? 1 / 255 : 1;
  const inputShape = exampleShape(settings, splits.train, splits.test);
  const features = inputShape.reduce((product, dimension) => product * dimension, 1);
  const exampleBytes = features * (featureType === 'uint8' ? 1 : 4);
  const numClasses = classCount(settings, splits.test ? [splits.train, splits.test] : [splits.train]);
  const { train, test } = splits.test
    ? { train: splits.train, test: splits.test }
    : await holdOut(splits.train, settings.testFraction ?? 0, settings.seed, exampleBytes, directory);
  if (train.count + test.count > limits.maxExamples) {
    throw new InvalidDataset([
      {
        path: test.labelField,
        message: `${train.count + test.count} examples in all; a dataset may have at most ${limits.maxExamples} (DATASET_MAX_EXAMPLES)`,
      },
    ]);
  }
  const statistics = await featureStatistics(train.features, featureType, scale);
  const info: DatasetInfo = {
    name: settings.name,
    description: settings.description,
    inputShape,
    numClasses,
    ...(settings.classNames ? { classNames: settings.classNames } : {}),
    trainSize: train.count,
    testSize: test.count,
    maxRawValue: 1 / scale,
    mean: statistics.mean,
    // Constant features would divide by zero when normalised; they are left as they are instead.
    std: statistics.std > 0 ? statistics.std : 1,
  };
  const bytes = datasetSections({ featureType, features, trainSize: train.count, testSize: test.count }).total;
  const paths = [train.features, train.labels, test.features, test.labels];
  return {
    info,
    format: settings.format,
    featureType,
    scale,
    statistics,
    trainClassCounts: await classCounts(train.labels, numClasses),
    testClassCounts: await classCounts(test.labels, numClasses),
    bytes,
    content: () => concatenated(paths),
  };
}
