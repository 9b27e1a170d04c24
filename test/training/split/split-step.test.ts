import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerSpec, OptimizerName } from '../../../src/domain/job-spec.js';
import { loadDataset, type Dataset } from '../../../src/datasets/loading/index.js';
import { DenseEngine } from '../../../src/training/dense-engine.js';
import { buildModel } from '../../../src/training/model.js';
import { createOptimizer, disposeOptimizer } from '../../../src/training/optimizer.js';
import { control, HelperLink, linkStates } from '../../../src/training/split/helper-link.js';
import { splitShapeOf } from '../../../src/training/split/lending.js';
import { alwaysSplit, type SplitPolicy } from '../../../src/training/split/split-choice.js';
import { installWasmFastPath } from '../../../src/training/wasm-fast-path.js';
import type { ThreadMessage } from '../../../src/worker/thread-protocol.js';

// Widths that are not multiples of four, odd fan-ins (so the weight gradient's rows split unevenly).
const layers: LayerSpec[] = [
  { type: 'dense', units: 131, activation: 'relu' },
  { type: 'dense', units: 64, activation: 'linear' },
  { type: 'dense', units: 33, activation: 'relu' },
  { type: 'dense', units: 10, activation: 'linear' },
];
const learningRates: Partial<Record<OptimizerName, number>> = { sgd: 0.05, adam: 0.001 };
// The third batch is odd (split 19 / 18), as an epoch's last batch may be.
const batchSizes = [64, 64, 37, 64, 64, 64, 64, 64];
const threadFile = new URL('../../../dist/worker/training-thread.js', import.meta.url);

interface Run {
  losses: number[];
  weights: Float32Array[];
  /** Steps done with the helper. */
  splitSteps: number;
}

function batchOf(dataset: Dataset, first: number, size: number) {
  const inputs = dataset.train.inputs.slice(first * 784, (first + size) * 784);
  const targets = new Float32Array(size * 10);
  for (let row = 0; row < size; row++) targets[row * 10 + (dataset.train.labels[first + row] as number)] = 1;
  return { inputs, targets };
}

/** The helper thread: a training thread as the pool runs them. */
class Helper {
  readonly thread = new Worker(threadFile, { workerData: { backend: 'wasm' } });
  readonly ready = new Promise<void>((resolve, reject) => {
    this.thread.on('message', (message: ThreadMessage) => {
      if (message.type === 'ready') resolve();
      if (message.type === 'startup-failed') reject(new Error(message.message));
    });
  });

  /** Lends the thread to `link` and resolves once it is waiting there for a step. */
  async lend(link: HelperLink): Promise<void> {
    expect(link.lend()).toBe(true);
    this.thread.postMessage({ type: 'help', link: { shape: link.shape, buffer: link.buffer } });
    while (link.state() !== linkStates.idle) await new Promise((resolve) => setTimeout(resolve, 2));
  }

  /** Takes it back and resolves once it has left. */
  async recall(link: HelperLink): Promise<void> {
    const left = this.left();
    link.recall();
    await left;
  }

  left(): Promise<void> {
    return new Promise((resolve) => {
      const onMessage = (message: ThreadMessage) => {
        if (message.type !== 'helped') return;
        this.thread.off('message', onMessage);
        resolve();
      };
      this.thread.on('message', onMessage);
    });
  }
}

/**
 * The steps of `batchSizes` through the engine; with `helper`, it is lent before step 0, recalled
 * before step `leaveAt` and lent again before step `rejoinAt`.
 */
async function run(
  dataset: Dataset,
  name: OptimizerName,
  helper?: Helper,
  policy: SplitPolicy = alwaysSplit,
  leaveAt = 3,
  rejoinAt = 5,
): Promise<Run> {
  const model = buildModel(layers, 784, 11);
  const optimizer = createOptimizer(name, learningRates[name] ?? 0.01);
  const engine = DenseEngine.for(layers, model, optimizer, 64);
  if (!engine) throw new Error('no engine for a dense network on the fast path');
  const shape = splitShapeOf(layers, 784, 64);
  if (!shape) throw new Error('no split shape for a dense network');
  const link = HelperLink.create(shape);
  engine.useHelper(link, policy);
  try {
    const losses: number[] = [];
    let first = 0;
    for (const [step, size] of batchSizes.entries()) {
      if (helper && step === 0) await helper.lend(link);
      if (helper && step === leaveAt) await helper.recall(link);
      if (helper && step === rejoinAt) await helper.lend(link);
      const { inputs, targets } = batchOf(dataset, first, size);
      losses.push(engine.step(inputs, targets));
      first += size;
    }
    const splitSteps = Atomics.load(link.control, control.go);
    if (helper) {
      const left = helper.left();
      link.close();
      await left;
    }
    return { losses, weights: model.variables.map((variable) => Float32Array.from(variable.dataSync())), splitSteps };
  } finally {
    engine.dispose();
    disposeOptimizer(optimizer);
    model.dispose();
  }
}

describe('a dense step split with a helper thread', () => {
  let dataset: Dataset;
  const helper = new Helper();

  beforeAll(async () => {
    dataset = await loadDataset('mnist');
    await tf.setBackend('wasm');
    expect(installWasmFastPath(tf, version_wasm)).toBe(true);
    await helper.ready;
  });
  afterAll(async () => {
    await helper.thread.terminate();
    await tf.setBackend('cpu');
  });

  for (const name of ['sgd', 'adam'] as const) {
    it(`gives the same losses and weights to the bit as the engine alone (${name}), the helper leaving and rejoining`, async () => {
      const alone = await run(dataset, name);
      const helped = await run(dataset, name, helper);
      expect(alone.splitSteps).toBe(0);
      // Steps 0-2 and 5-7 were split.
      expect(helped.splitSteps).toBe(6);
      expect(helped.losses).toEqual(alone.losses);
      expect(helped.weights.length).toBe(alone.weights.length);
      helped.weights.forEach((weights, index) => {
        const expected = alone.weights[index] as Float32Array;
        expect(Buffer.compare(Buffer.from(weights.buffer), Buffer.from(expected.buffer)), `variable ${index}`).toBe(0);
      });
      // The weights moved: a run that did nothing would also compare equal.
      expect(alone.losses[7]).not.toBe(alone.losses[0]);
    });
  }

  it('gives the same bits when the job steps alone between split steps, the helper staying', async () => {
    const alone = await run(dataset, 'adam');
    let asked = 0;
    // Split, alone, alone, split, ...: the helper's weights must follow the steps made without it.
    const everyThird: SplitPolicy = { wantsSplit: () => asked++ % 3 === 0, record: () => undefined };
    const mixed = await run(dataset, 'adam', helper, everyThird, 99, 99);
    expect(mixed.splitSteps).toBe(3);
    expect(mixed.losses).toEqual(alone.losses);
    mixed.weights.forEach((weights, index) => {
      const expected = alone.weights[index] as Float32Array;
      expect(Buffer.compare(Buffer.from(weights.buffer), Buffer.from(expected.buffer)), `variable ${index}`).toBe(0);
    });
  });

  it('leaves when recalled between steps, and when the job closes its link before it arrives', async () => {
    const shape = splitShapeOf(layers, 784, 64);
    if (!shape) throw new Error('no split shape');
    const link = HelperLink.create(shape);
    await helper.lend(link);
    await helper.recall(link);
    expect(link.state()).toBe(linkStates.none);
    expect(link.lend()).toBe(true);
    link.close();
    const left = helper.left();
    helper.thread.postMessage({ type: 'help', link: { shape, buffer: link.buffer } });
    await left;
    expect(link.state()).toBe(linkStates.closed);
  });
});
