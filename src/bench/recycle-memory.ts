// bench:train's memory after big jobs: a two-thread training pool trains two jobs estimated near
// MAX_JOB_MEMORY_BYTES at once, and this process's RSS is read before, during and after, with the
// pool replacing threads whose WebAssembly heap grew past the limit and without.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasets } from '../domain/datasets.js';
import { parseJobSpec } from '../domain/job-spec.js';
import { estimateTrainingBytes } from '../domain/memory.js';
import { createTrainingPool } from '../worker/training-pool.js';
import { format } from './services.js';

const mebibyte = 1024 * 1024;
const threadFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '../worker/training-thread.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const rss = () => process.memoryUsage().rss;

// 784-8192-8192-10 with Adam: about 74 million parameters, two steps and a small test pass.
const bigJob = parseJobSpec(
  {
    name: 'big',
    seed: 1,
    trainSamples: 128,
    testSamples: 100,
    epochs: 1,
    learningRate: 0.001,
    batchSize: 64,
    optimizer: 'adam',
    model: {
      layers: [
        { type: 'dense', units: 8192, activation: 'relu' },
        { type: 'dense', units: 8192, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    },
  },
  { maxParameters: Number.MAX_SAFE_INTEGER },
);

const listener = {
  onSteps: () => undefined,
  onEpoch: () => undefined,
  onModel: () => undefined,
  onCheckpoint: () => undefined,
};

/** RSS before, at most during and a few seconds after two big jobs, on a pool with `maxThreadHeapBytes`. */
async function twoBigJobs(maxThreadHeapBytes: number) {
  if (!bigJob.ok) throw new Error(JSON.stringify(bigJob.issues));
  const pool = createTrainingPool({ size: 2, threadFile, backend: 'wasm', maxThreadHeapBytes });
  try {
    await pool.ready();
    const before = rss();
    let during = before;
    const sampler = setInterval(() => (during = Math.max(during, rss())), 100);
    const runs = await Promise.all(['big-1', 'big-2'].map((id) => pool.run(id, bigJob.spec, listener)));
    await Promise.all(runs.map((run) => run.result));
    clearInterval(sampler);
    await pool.ready();
    // Replaced threads exit in the background, and their memory goes with them.
    await sleep(3000);
    return { before, during, after: rss() };
  } finally {
    await pool.close();
  }
}

/** Measures and prints the worker-side RSS figures with and without replacing grown threads. */
export async function recycleMemory(): Promise<void> {
  if (!bigJob.ok) throw new Error(JSON.stringify(bigJob.issues));
  const estimate = estimateTrainingBytes(bigJob.spec, datasets.mnist);
  console.log(
    `\n== Memory of a two-thread pool after two jobs of 784-8192-8192-10 (Adam, estimated ${format(estimate / mebibyte)} MiB each) ==`,
  );
  for (const [label, limit] of [
    ['threads replaced past 1 GiB of heap', 1024 * mebibyte],
    ['threads kept (no limit)', Number.POSITIVE_INFINITY],
  ] as const) {
    const { before, during, after } = await twoBigJobs(limit);
    console.log(
      `${label.padEnd(36)} RSS before ${format(before / mebibyte)} MiB, during ${format(during / mebibyte)} MiB, after ${format(after / mebibyte)} MiB`,
    );
  }
}
