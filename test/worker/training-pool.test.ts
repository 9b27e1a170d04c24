import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/domain/job-spec.js';
import type { Dataset } from '../../src/datasets/loading/index.js';
import type { Checkpoint, EpochMetrics, StepLoss } from '../../src/training/train.js';
import type { EpochModel } from '../../src/worker/thread-protocol.js';
import { createTrainingPool, type TrainingPool } from '../../src/worker/training-pool.js';
import { smallSpec } from '../helpers/specs.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
// The scripted threads never read the dataset.
const noDataset = () => Promise.resolve({} as Dataset);
const spec = (name: string, epochs = 2) => ({ ...smallSpec({ name, epochs }), dataset: 'mnist' }) as JobSpec;

function recorder() {
  const seen = {
    steps: [] as StepLoss[],
    epochs: [] as EpochMetrics[],
    models: [] as EpochModel[],
    checkpoints: [] as Checkpoint[],
  };
  const listener = {
    onSteps: (steps: StepLoss[]) => void seen.steps.push(...steps),
    onEpoch: (metrics: EpochMetrics) => void seen.epochs.push(metrics),
    onModel: (model: EpochModel) => void seen.models.push(model),
    onCheckpoint: (checkpoint: Checkpoint) => void seen.checkpoints.push(checkpoint),
  };
  return { seen, listener };
}

const pools: TrainingPool[] = [];
const pool = (threadFile = fixture('scripted-thread.mjs'), size = 1) => {
  const created = createTrainingPool({ size, threadFile, loadDataset: noDataset });
  pools.push(created);
  return created;
};
afterEach(async () => {
  await Promise.all(pools.splice(0).map((created) => created.close()));
});

describe('the training pool', () => {
  it('passes a job its thread reports on to the listener, and its outcome', async () => {
    const threads = pool();
    expect(await threads.ready()).toBe('cpu');
    const { seen, listener } = recorder();
    const training = await threads.run('job-1', spec('ok'), listener);
    expect(await training.result).toEqual({ outcome: 'completed', steps: 20, numTensors: 0 });
    expect(seen.steps.map((step) => step.step)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect(seen.epochs.map((metrics) => metrics.epoch)).toEqual([1, 2]);
    expect(seen.models.map((model) => [model.epoch, new Float32Array(model.weights.buffer)[0]])).toEqual([
      [1, 10],
      [2, 20],
    ]);
  });

  it('stops a thread that is busy in a synchronous loop between two batches, without waiting for it to yield', async () => {
    const threads = pool();
    const { seen, listener } = recorder();
    // About 100 s of batches if it were not stopped.
    const training = await threads.run('job-1', spec('ok', 10_000), listener);
    while (seen.steps.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const stoppedAt = performance.now();
    training.stop();
    const outcome = await training.result;
    expect(performance.now() - stoppedAt).toBeLessThan(500);
    expect(outcome).toMatchObject({ outcome: 'stopped' });
    expect(seen.steps.at(-1)?.step).toBe(outcome.outcome === 'stopped' ? outcome.steps : -1);
  });

  it('keeps the first stop request: a checkpoint stop is not turned into a plain stop', async () => {
    const threads = pool();
    const { seen, listener } = recorder();
    const training = await threads.run('job-1', spec('ok', 10_000), listener);
    training.stop('checkpoint');
    training.stop('stop');
    expect(await training.result).toMatchObject({ outcome: 'stopped' });
    expect(seen.checkpoints).toHaveLength(1);
  });

  it('reports a training failure with its code', async () => {
    const threads = pool();
    const training = await threads.run('job-1', spec('fail'), recorder().listener);
    expect(await training.result).toEqual({
      outcome: 'failed',
      code: 'diverged',
      message: 'loss became NaN',
      numTensors: 0,
    });
  });

  it('reports a thread that dies under its job as thread_crashed, and trains the next job on a fresh thread', async () => {
    const threads = pool();
    const crashed = await threads.run('job-1', spec('crash'), recorder().listener);
    expect(await crashed.result).toMatchObject({ outcome: 'failed', code: 'thread_crashed' });
    const next = await threads.run('job-2', spec('ok', 1), recorder().listener);
    expect(await next.result).toMatchObject({ outcome: 'completed' });
  });

  it('replaces a thread that is left holding tensors', async () => {
    const threads = pool();
    const first = recorder();
    expect(await (await threads.run('job-1', spec('leak', 1), first.listener)).result).toMatchObject({ numTensors: 3 });
    const second = recorder();
    await (
      await threads.run('job-2', spec('ok', 1), second.listener)
    ).result;
    const third = recorder();
    await (
      await threads.run('job-3', spec('ok', 1), third.listener)
    ).result;
    const threadOf = (seen: { steps: StepLoss[] }) => seen.steps[0]?.loss;
    expect(threadOf(second.seen)).not.toBe(threadOf(first.seen));
    expect(threadOf(third.seen)).toBe(threadOf(second.seen));
  });

  describe('a thread whose WebAssembly heap grew', () => {
    const mebibytes = 1024 * 1024;
    const rss = () => process.memoryUsage().rss;
    /** Runs a 'grow' job then an 'ok' one on a one-thread pool; the threads they ran on, and RSS around them. */
    async function growThenTrain(maxThreadHeapBytes: number) {
      const threads = createTrainingPool({
        size: 1,
        threadFile: fixture('scripted-thread.mjs'),
        loadDataset: noDataset,
        maxThreadHeapBytes,
      });
      pools.push(threads);
      await threads.ready();
      const before = rss();
      let during = 0;
      const grown = recorder();
      const listener = {
        ...grown.listener,
        onSteps: (steps: StepLoss[]) => {
          during = Math.max(during, rss());
          grown.listener.onSteps(steps);
        },
      };
      await (
        await threads.run('job-1', spec('grow', 1), listener)
      ).result;
      await threads.ready();
      // The replaced thread exits in the background; its memory goes when it has.
      for (let waited = 0; waited < 5000 && rss() > before + 128 * mebibytes; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      const after = rss();
      const next = recorder();
      await (
        await threads.run('job-2', spec('ok', 1), next.listener)
      ).result;
      return { grownOn: grown.seen.steps[0]?.loss, nextOn: next.seen.steps[0]?.loss, before, during, after };
    }

    it('is replaced once its job ends when the heap is past the limit, and its memory is released', async () => {
      const { grownOn, nextOn, before, during, after } = await growThenTrain(128 * mebibytes);
      expect(nextOn).not.toBe(grownOn);
      expect(during - before).toBeGreaterThan(200 * mebibytes);
      expect(after - before).toBeLessThan(128 * mebibytes);
    });

    it('trains again when the heap stayed under the limit, keeping its memory', async () => {
      const { grownOn, nextOn, before, after } = await growThenTrain(1024 * mebibytes);
      expect(nextOn).toBe(grownOn);
      expect(after - before).toBeGreaterThan(200 * mebibytes);
    });
  });

  it('refuses a job when every thread is busy', async () => {
    const threads = pool();
    const training = await threads.run('job-1', spec('ok', 10_000), recorder().listener);
    await expect(threads.run('job-2', spec('ok'), recorder().listener)).rejects.toThrow('no free training thread');
    training.stop();
    await training.result;
  });

  it('rejects ready when a thread cannot start its backend', async () => {
    const threads = pool(fixture('failing-startup-thread.mjs'));
    await expect(threads.ready()).rejects.toThrow('no backend available');
  });
});
