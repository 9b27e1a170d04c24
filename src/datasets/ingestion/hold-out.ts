import { open } from 'node:fs/promises';
import path from 'node:path';
import { bytesPerLabel } from '../../domain/dataset-layout.js';
import { InvalidDataset } from '../../domain/errors.js';
import { SpoolWriter } from './spool.js';

/** One split's examples in the stored form, in two local files. */
export interface SplitFiles {
  count: number;
  features: string;
  labels: string;
  shape: number[];
  maxLabel: number;
  /** The fields the split's labels and features came from, to point at in problems found later. */
  labelField: string;
  featureField: string;
}

/** A seeded choice of `testCount` of `count` examples (mulberry32, partial Fisher-Yates). */
function heldOut(count: number, testCount: number, seed: number): Uint8Array {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = new Uint32Array(count);
  for (let index = 0; index < count; index++) order[index] = index;
  const chosen = new Uint8Array(count);
  for (let index = 0; index < testCount; index++) {
    const pick = index + Math.floor(random() * (count - index));
    const value = order[pick] as number;
    order[pick] = order[index] as number;
    order[index] = value;
    chosen[value] = 1;
  }
  return chosen;
}

/** Bytes read at a time: what the hold-out holds, whatever the size of an example. */
const pieceBytes = 1024 * 1024;

/**
 * Appends each fixed-size record of `file` (an example's features, or a label) to the writer of its
 * part, through one reused buffer of `pieceBytes`: a record larger than the buffer goes in pieces.
 */
async function routeRecords(
  file: string,
  recordBytes: number,
  chosen: Uint8Array,
  writers: { kept: SpoolWriter; held: SpoolWriter },
): Promise<void> {
  const input = await open(file, 'r');
  const buffer = Buffer.allocUnsafe(pieceBytes);
  try {
    for (let position = 0; ;) {
      const { bytesRead } = await input.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      let at = 0;
      while (at < bytesRead) {
        let record = Math.floor((position + at) / recordBytes);
        const held = chosen[record] === 1;
        // Consecutive records of the same part go in one write.
        while ((record + 1) * recordBytes < position + bytesRead && (chosen[record + 1] === 1) === held) record++;
        const end = Math.min(bytesRead, (record + 1) * recordBytes - position);
        await (held ? writers.held : writers.kept).write(buffer.subarray(at, end));
        at = end;
      }
      position += bytesRead;
    }
  } finally {
    await input.close();
  }
}

/** Splits the train files into train and test parts, keeping order within each; streams both files. */
export async function holdOut(
  train: SplitFiles,
  fraction: number,
  seed: number,
  exampleBytes: number,
  directory: string,
) {
  const testCount = Math.round(train.count * fraction);
  if (testCount < 1 || testCount >= train.count) {
    throw new InvalidDataset([
      { path: 'testFraction', message: `${fraction} of ${train.count} examples leaves an empty split` },
    ]);
  }
  const chosen = heldOut(train.count, testCount, seed);
  const parts = {
    train: {
      features: await SpoolWriter.create(path.join(directory, 'kept.features')),
      labels: await SpoolWriter.create(path.join(directory, 'kept.labels')),
    },
    test: {
      features: await SpoolWriter.create(path.join(directory, 'held.features')),
      labels: await SpoolWriter.create(path.join(directory, 'held.labels')),
    },
  };
  try {
    await routeRecords(train.features, exampleBytes, chosen, { kept: parts.train.features, held: parts.test.features });
    await routeRecords(train.labels, bytesPerLabel, chosen, { kept: parts.train.labels, held: parts.test.labels });
  } finally {
    await Promise.all([
      parts.train.features.close(),
      parts.train.labels.close(),
      parts.test.features.close(),
      parts.test.labels.close(),
    ]);
  }
  const { shape, maxLabel, labelField, featureField } = train;
  const base = { shape, maxLabel, labelField, featureField };
  return {
    train: {
      ...base,
      count: train.count - testCount,
      features: parts.train.features.path,
      labels: parts.train.labels.path,
    },
    test: { ...base, count: testCount, features: parts.test.features.path, labels: parts.test.labels.path },
  };
}
