import { open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidDataset } from '../../domain/errors.js';
import { SpoolWriter } from './spool.js';

/** One split's examples in the stored form, in two local files. */
export interface SplitFiles {
  count: number;
  features: string;
  labels: string;
  shape: number[];
  maxLabel: number;
  /** The field the split's labels came from, to point at in problems found later. */
  labelField: string;
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

/** Splits the train files into train and test parts, keeping order within each. */
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
  const labels = await readFile(train.labels);
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
  const input = await open(train.features, 'r');
  try {
    const perRead = Math.max(1, Math.floor((4 * 1024 * 1024) / exampleBytes));
    const buffer = Buffer.allocUnsafe(perRead * exampleBytes);
    for (let first = 0; first < train.count; first += perRead) {
      const examples = Math.min(perRead, train.count - first);
      await input.read(buffer, 0, examples * exampleBytes, first * exampleBytes);
      for (let index = 0; index < examples; index++) {
        const part = chosen[first + index] === 1 ? parts.test : parts.train;
        await part.features.write(buffer.subarray(index * exampleBytes, (index + 1) * exampleBytes));
        await part.labels.write(labels.subarray((first + index) * 2, (first + index) * 2 + 2));
      }
    }
  } finally {
    await input.close();
    await Promise.all([
      parts.train.features.close(),
      parts.train.labels.close(),
      parts.test.features.close(),
      parts.test.labels.close(),
    ]);
  }
  const base = { shape: train.shape, maxLabel: train.maxLabel, labelField: train.labelField };
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
