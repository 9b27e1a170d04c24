import { open, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdOut, type SplitFiles } from '../../../src/datasets/ingestion/hold-out.js';

const mib = 1024 * 1024;

/** Writes `count` examples of `exampleBytes`, example k filled with byte k, from one reused buffer. */
async function writeExamples(file: string, count: number, exampleBytes: number): Promise<void> {
  const handle = await open(file, 'w');
  const piece = Buffer.alloc(mib);
  try {
    for (let example = 0; example < count; example++) {
      piece.fill(example);
      for (let written = 0; written < exampleBytes; written += piece.length) {
        await handle.write(piece, 0, Math.min(piece.length, exampleBytes - written));
      }
    }
  } finally {
    await handle.close();
  }
}

/** The most `process.memoryUsage().arrayBuffers` rose above its level at the start while `run` ran. */
async function peakBufferGrowth(run: () => Promise<unknown>): Promise<number> {
  const start = process.memoryUsage().arrayBuffers;
  let peak = start;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers));
  const sampler = setInterval(sample, 1);
  try {
    await run();
  } finally {
    clearInterval(sampler);
  }
  sample();
  return peak - start;
}

describe('holdOut', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'hold-out-test-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  function trainSplit(count: number, exampleBytes: number, labels: number[]): SplitFiles {
    return {
      count,
      features: path.join(directory, `train-${exampleBytes}.features`),
      labels: path.join(directory, `train-${exampleBytes}.labels`),
      shape: [exampleBytes],
      maxLabel: Math.max(...labels),
      labelField: 'train',
      featureField: 'train',
    };
  }

  async function labelsFile(file: string, labels: number[]) {
    const bytes = Buffer.alloc(labels.length * 2);
    labels.forEach((label, index) => bytes.writeUInt16LE(label, index * 2));
    const handle = await open(file, 'w');
    await handle.write(bytes);
    await handle.close();
  }

  it('splits examples whole, keeping their order and labels, by a seeded choice', async () => {
    const labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const exampleBytes = 3 * mib + 5;
    const train = trainSplit(labels.length, exampleBytes, labels);
    await writeExamples(train.features, labels.length, exampleBytes);
    await labelsFile(train.labels, labels);
    const { train: kept, test: held } = await holdOut(train, 0.3, 7, exampleBytes, directory);
    expect([kept.count, held.count]).toEqual([7, 3]);
    const labelsOf = async (file: string) => {
      const bytes = await readFile(file);
      return Array.from({ length: bytes.length / 2 }, (_, index) => bytes.readUInt16LE(index * 2));
    };
    const keptLabels = await labelsOf(kept.labels);
    const heldLabels = await labelsOf(held.labels);
    expect([...keptLabels, ...heldLabels].sort()).toEqual(labels);
    expect(keptLabels).toEqual([...keptLabels].sort());
    // Each example's bytes are its label's (example k is all k), so features went with their labels.
    for (const [split, splitLabels] of [
      [kept, keptLabels],
      [held, heldLabels],
    ] as const) {
      expect((await stat(split.features)).size).toBe(splitLabels.length * exampleBytes);
      const handle = await open(split.features, 'r');
      for (const [index, label] of splitLabels.entries()) {
        for (const offset of [0, exampleBytes - 1]) {
          const byte = Buffer.alloc(1);
          await handle.read(byte, 0, 1, index * exampleBytes + offset);
          expect(byte[0]).toBe(label);
        }
      }
      await handle.close();
    }
    const again = await holdOut(train, 0.3, 7, exampleBytes, directory);
    expect(await labelsOf(again.test.labels)).toEqual(heldLabels);
  });

  it('streams: memory does not grow with the size of an example', async () => {
    const exampleBytes = 48 * mib;
    const train = trainSplit(2, exampleBytes, [0, 1]);
    await writeExamples(train.features, 2, exampleBytes);
    await labelsFile(train.labels, [0, 1]);
    const growth = await peakBufferGrowth(() => holdOut(train, 0.5, 1, exampleBytes, directory));
    // A few write buffers of 1 MiB; holding an example would take 48 MiB.
    expect(growth).toBeLessThan(24 * mib);
  });
});
