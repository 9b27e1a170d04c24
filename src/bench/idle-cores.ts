// `npm run bench:train -- --only=threads`: what lending an idle training thread to a running dense job
// gains and costs on this machine. Alternates with and without, a few rounds, and reports medians.
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseJobSpec, type JobSpec, type LayerSpec } from '../domain/job-spec.js';
import { selectBackend } from '../training/backend.js';
import { DenseEngine } from '../training/dense-engine.js';
import { buildModel } from '../training/model.js';
import { createOptimizer, disposeOptimizer } from '../training/optimizer.js';
import { HelperLink, linkStates } from '../training/split/helper-link.js';
import { splitShapeOf, stepMultiplyAdds, worthLending } from '../training/split/lending.js';
import { alwaysSplit } from '../training/split/split-choice.js';
import type { EpochMetrics } from '../training/train.js';
import type { ThreadMessage } from '../worker/thread-protocol.js';
import { createTrainingPool, type TrainingPool } from '../worker/training-pool.js';
import { median } from './loop-runner.js';
import { benchSpec, networkLabel } from './networks.js';
import { format } from './services.js';

const threadFile = fileURLToPath(new URL('../worker/training-thread.js', import.meta.url));
const rounds = 3;

/** A training thread lent to the benchmark's own engine. */
class BenchHelper {
  readonly thread = new Worker(threadFile, { workerData: { backend: 'wasm' } });
  readonly ready = new Promise<void>((resolve) => {
    this.thread.on('message', (message: ThreadMessage) => {
      if (message.type === 'ready') resolve();
    });
  });

  async lend(link: HelperLink): Promise<void> {
    link.lend();
    this.thread.postMessage({ type: 'help', link: { shape: link.shape, buffer: link.buffer } });
    while (link.state() !== linkStates.idle) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  release(link: HelperLink): Promise<void> {
    const left = new Promise<void>((resolve) => {
      const onMessage = (message: ThreadMessage) => {
        if (message.type !== 'helped') return;
        this.thread.off('message', onMessage);
        resolve();
      };
      this.thread.on('message', onMessage);
    });
    link.close();
    return left;
  }
}

/** ReLU layers of `hidden` units, then 10 linear ones. */
const denseLayers = (hidden: number[]): LayerSpec[] => [
  ...hidden.map((units): LayerSpec => ({ type: 'dense', units, activation: 'relu' })),
  { type: 'dense', units: 10, activation: 'linear' },
];

/** Samples per second of `steps` dense steps on random data, with `helper` lent to the engine if given. */
async function engineSpeed(layers: LayerSpec[], batch: number, steps: number, helper?: BenchHelper): Promise<number> {
  const model = buildModel(layers, 784, 1);
  const optimizer = createOptimizer('sgd', 0.01);
  const engine = DenseEngine.for(layers, model, optimizer, batch);
  const shape = splitShapeOf(layers, 784, batch);
  if (!engine || !shape) throw new Error('no dense engine: is the wasm backend loaded?');
  const link = HelperLink.create(shape);
  engine.useHelper(link, alwaysSplit);
  try {
    if (helper) await helper.lend(link);
    const inputs = Float32Array.from({ length: batch * 784 }, () => Math.random());
    const targets = new Float32Array(batch * 10);
    for (let row = 0; row < batch; row++) targets[row * 10 + (row % 10)] = 1;
    for (let step = 0; step < 10; step++) engine.step(inputs, targets);
    const started = performance.now();
    for (let step = 0; step < steps; step++) engine.step(inputs, targets);
    return (steps * batch) / ((performance.now() - started) / 1000);
  } finally {
    if (helper) await helper.release(link);
    engine.dispose();
    disposeOptimizer(optimizer);
    model.dispose();
  }
}

/** The split step against the engine alone, by network size and batch: where it pays and where not. */
async function splitStepSpeeds(): Promise<void> {
  console.log('\n== A dense step alone vs split with a helper thread (engine only, SGD, samples/s, medians) ==');
  await selectBackend('wasm');
  const helper = new BenchHelper();
  await helper.ready;
  const cases: [string, LayerSpec[], number][] = [
    ['784-32-10', denseLayers([32]), 64],
    ['784-128-10', denseLayers([128]), 64],
    ['784-256-10', denseLayers([256]), 64],
    ['784-512-512-10', denseLayers([512, 512]), 16],
    ['784-512-512-10', denseLayers([512, 512]), 64],
    ['784-512-512-10', denseLayers([512, 512]), 256],
    ['784-512-1024-512-128-10', denseLayers([512, 1024, 512, 128]), 64],
  ];
  for (const [label, layers, batch] of cases) {
    const shape = splitShapeOf(layers, 784, batch);
    if (!shape) continue;
    const work = stepMultiplyAdds(shape);
    const steps = Math.max(20, Math.min(400, Math.round(4e9 / work)));
    const alone: number[] = [];
    const split: number[] = [];
    for (let round = 0; round < rounds; round++) {
      alone.push(await engineSpeed(layers, batch, steps));
      split.push(await engineSpeed(layers, batch, steps, helper));
    }
    const ratio = median(split) / median(alone);
    console.log(
      `${label.padEnd(24)} batch ${String(batch).padStart(3)}  ${format(work / 1e6).padStart(5)}M mult-adds/step  ` +
        `alone ${format(median(alone)).padStart(6)}  split ${format(median(split)).padStart(6)}  ` +
        `${format(ratio, 2)}x  ${worthLending(shape) ? 'lent' : 'not lent'}`,
    );
  }
  await helper.thread.terminate();
}

function parsed(input: ReturnType<typeof benchSpec>): JobSpec {
  const result = parseJobSpec(input, { maxParameters: 1e9 });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.spec;
}

/** Runs `spec` on `pool`; resolves with its first epoch's metrics and when `run` returned (ms, from `since`). */
async function job(pool: TrainingPool, id: string, spec: JobSpec, since: number) {
  let metrics: EpochMetrics | undefined;
  const running = await pool.run(id, spec, {
    onSteps: () => undefined,
    onEpoch: (epoch) => {
      metrics ??= epoch;
    },
    onModel: () => undefined,
    onCheckpoint: () => undefined,
  });
  const startedAt = performance.now() - since;
  const outcome = await running.result;
  if (outcome.outcome !== 'completed' || !metrics) throw new Error(`bench job ${id} did not complete`);
  return { samplesPerSecond: metrics.samplesPerSecond, startedAt, endedAt: performance.now() - since };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Pools = Record<'on' | 'off', TrainingPool>;

/** One job alone on a 2-thread pool, lending on and off. */
async function aloneOnPool(pools: Pools): Promise<void> {
  console.log('\n== One job alone on a 2-thread pool, lending on vs off (samples/s of its epoch, medians) ==');
  for (const [network, samples] of [
    ['mlp', 19_200],
    ['deep', 9600],
  ] as const) {
    const spec = parsed(benchSpec(network, samples, 500));
    const speeds = { on: [] as number[], off: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['off', 'on'] as const)
        speeds[mode].push((await job(pools[mode], `alone-${mode}-${round}`, spec, performance.now())).samplesPerSecond);
    }
    const [on, off] = [median(speeds.on), median(speeds.off)];
    console.log(
      `${networkLabel(network).padEnd(26)} off ${format(off).padStart(6)}  on ${format(on).padStart(6)}  ${format(on / off, 2)}x`,
    );
  }
}

/** Two jobs, the second arriving while the first trains (with the idle thread lent to it when on). */
async function twoJobs(pools: Pools): Promise<void> {
  console.log(
    '\n== Two jobs, the second arriving 1 s into the first (784-512-512-10, 2 threads; medians): lending on vs off ==',
  );
  const first = parsed(benchSpec('mlp', 25_600, 500));
  const second = parsed(benchSpec('mlp', 12_800, 500));
  const rows = { on: [] as number[][], off: [] as number[][] };
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['off', 'on'] as const) {
      const since = performance.now();
      const a = job(pools[mode], `first-${mode}-${round}`, first, since);
      await pause(1000);
      const asked = performance.now() - since;
      const b = await job(pools[mode], `second-${mode}-${round}`, second, since);
      const done = await a;
      rows[mode].push([
        b.startedAt - asked,
        done.samplesPerSecond,
        b.samplesPerSecond,
        Math.max(done.endedAt, b.endedAt),
      ]);
    }
  }
  const column = (mode: 'on' | 'off', index: number) => median(rows[mode].map((row) => row[index] as number));
  for (const mode of ['off', 'on'] as const) {
    console.log(
      `lending ${mode.padEnd(3)}  second job started after ${format(column(mode, 0), 1).padStart(5)} ms  ` +
        `first ${format(column(mode, 1)).padStart(6)} samples/s  second ${format(column(mode, 2)).padStart(6)} samples/s  ` +
        `both done in ${format(column(mode, 3) / 1000, 2)} s`,
    );
  }
  console.log(
    `both done: on/off ${format(column('on', 3) / column('off', 3), 3)}x the time; ` +
      `first job's epoch (alone, then sharing): on/off ${format(column('on', 1) / column('off', 1), 2)}x`,
  );
}

const load = () =>
  os
    .loadavg()
    .map((value) => format(value, 1))
    .join(' ');

export async function idleCores(): Promise<void> {
  console.log(
    `\nload average before: ${load()} (on ${os.availableParallelism()} cores; other processes take what the helper would)`,
  );
  await splitStepSpeeds();
  const pools = {
    on: createTrainingPool({ size: 2, backend: 'wasm', lendIdleThreads: true }),
    off: createTrainingPool({ size: 2, backend: 'wasm', lendIdleThreads: false }),
  };
  try {
    await Promise.all([pools.on.ready(), pools.off.ready()]);
    await aloneOnPool(pools);
    await twoJobs(pools);
  } finally {
    await Promise.all([pools.on.close(), pools.off.close()]);
  }
  console.log(`load average after: ${load()}`);
}
