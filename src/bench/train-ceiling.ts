// bench:train's first table: for each network and optimizer, the WebAssembly ceiling of a training
// step (its matrix products at this process's XNNPACK throughput), the samples/s training reaches end
// to end in the same process and thread, the fraction of the ceiling that is, and PyTorch on one thread.
import os from 'node:os';
import type { JobSpec, OptimizerName } from '../domain/job-spec.js';
import { parseJobSpec } from '../domain/job-spec.js';
import { modelInputShape } from '../domain/model-shape.js';
import { selectBackend } from '../training/backend.js';
import { loadDataset, type Dataset } from '../datasets/loading/index.js';
import { train } from '../training/train.js';
import { ceilingOf, cpuSeconds, measureProducts, stepProducts, type MeasuredProduct } from './ceiling.js';
import { median } from './loop-runner.js';
import { benchSpec, networkLabel, type NetworkName } from './networks.js';
import { format } from './services.js';
import { measureTorch } from './torch-reference.js';

const learningRates: Partial<Record<OptimizerName, number>> = { sgd: 0.01, adam: 0.001 };
const optimizers: OptimizerName[] = ['sgd', 'adam'];
const batchSize = 64;
/** Training examples per end-to-end run, about a second of training each. */
const samplesOf: Record<'mlp' | 'deep' | 'cnn', number> = { mlp: 6400, deep: 3200, cnn: 3200 };
const repetitions = 3;

/** A run's speed by wall time and by this process's CPU time. */
interface Speed {
  wall: number;
  cpu: number;
}

export interface CeilingRow {
  network: NetworkName;
  optimizer: OptimizerName;
  ceiling: ReturnType<typeof ceilingOf>;
  /** Samples per second of wall time and per CPU second, medians over the runs. */
  samplesPerSecond: number;
  samplesPerCpuSecond: number;
  runs: Speed[];
  torch?: Speed;
}

function specOf(network: 'mlp' | 'deep' | 'cnn', optimizer: OptimizerName, samples: number): JobSpec {
  const input = { ...benchSpec(network, samples, 100), optimizer, learningRate: learningRates[optimizer] ?? 0.01 };
  const parsed = parseJobSpec(input, { maxParameters: Number.MAX_SAFE_INTEGER });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

/**
 * Samples/s of one training run of `samples` examples, from the start of its first batch to the start
 * of its last (so neither the model's set-up nor the test pass counts), by wall and by CPU time.
 */
async function trainingSpeed(spec: JobSpec, dataset: Dataset): Promise<Speed> {
  const starts: [number, number][] = [];
  await train(spec, dataset, { shouldStop: () => void starts.push([performance.now(), cpuSeconds()]) });
  const [[firstWall, firstCpu] = [0, 0], [lastWall, lastCpu] = [0, 0]] = [starts[0], starts.at(-1)];
  const samples = (starts.length - 1) * spec.batchSize;
  return { wall: samples / ((lastWall - firstWall) / 1000), cpu: samples / (lastCpu - firstCpu) };
}

function printProducts(products: MeasuredProduct[]): void {
  for (const { layer, role, M, K, N, gflops, cpuGflops } of products) {
    const shape = `${M}x${K} . ${K}x${N}`;
    console.log(
      `  layer ${layer} ${role.padEnd(16)} ${shape.padEnd(24)} ${format(gflops, 1).padStart(6)} GFLOP/s, ${format(cpuGflops, 1).padStart(6)} per CPU second`,
    );
  }
}

/** One network: the ceiling measured between the end-to-end runs of each optimizer, interleaved. */
async function measureNetwork(network: 'mlp' | 'deep' | 'cnn', dataset: Dataset): Promise<CeilingRow[]> {
  const spec = specOf(network, 'sgd', samplesOf[network]);
  const layers = spec.model.layers;
  const products = stepProducts(layers, dataset.info.inputShape, batchSize);
  for (const optimizer of optimizers) await train(specOf(network, optimizer, 640), dataset);
  const ceilings: MeasuredProduct[][] = [];
  const runs = new Map<OptimizerName, Speed[]>(optimizers.map((optimizer) => [optimizer, []]));
  for (let round = 0; round < repetitions; round++) {
    ceilings.push(measureProducts(products));
    for (const optimizer of optimizers)
      runs.get(optimizer)?.push(await trainingSpeed(specOf(network, optimizer, samplesOf[network]), dataset));
  }
  // Each product's median over the rounds.
  const measured = products.map((product, index) => ({
    ...product,
    gflops: median(ceilings.map((round) => round[index]?.gflops ?? 0)),
    cpuGflops: median(ceilings.map((round) => round[index]?.cpuGflops ?? 0)),
  }));
  console.log(`\n${networkLabel(network)}: the products of one step of ${batchSize} (median of ${repetitions})`);
  printProducts(measured);
  const ceiling = ceilingOf(measured, batchSize);
  const inputShape = modelInputShape(layers, dataset.info.inputShape);
  const rows: CeilingRow[] = [];
  for (const optimizer of optimizers) {
    const rates = runs.get(optimizer) ?? [];
    const torch = await measureTorch({
      layers,
      inputShape,
      optimizer,
      learningRate: learningRates[optimizer] ?? 0.01,
      batchSize,
    });
    rows.push({
      network,
      optimizer,
      ceiling,
      samplesPerSecond: median(rates.map((rate) => rate.wall)),
      samplesPerCpuSecond: median(rates.map((rate) => rate.cpu)),
      runs: rates,
      ...(torch ? { torch: { wall: torch.samplesPerSecond, cpu: torch.samplesPerCpuSecond } } : {}),
    });
  }
  return rows;
}

/** Ours over PyTorch's, by CPU time (each side's own process's). */
export const torchRatio = (row: CeilingRow) => (row.torch ? row.samplesPerCpuSecond / row.torch.cpu : undefined);

/** The share of the ceiling a row reaches: by CPU time, which the machine's other work disturbs less. */
export const fractionOf = (row: CeilingRow) => row.samplesPerCpuSecond / row.ceiling.samplesPerCpuSecond;

function printTable(rows: CeilingRow[]): void {
  const columns: [string, number, (row: CeilingRow) => string][] = [
    ['network', 34, (row) => networkLabel(row.network)],
    ['opt', 5, (row) => row.optimizer],
    ['ceiling GFLOP/s', 15, (row) => `${format(row.ceiling.gflops, 1)} (${format(row.ceiling.cpuGflops, 1)})`],
    [
      'ceiling smp/s',
      15,
      (row) => `${format(row.ceiling.samplesPerSecond)} (${format(row.ceiling.samplesPerCpuSecond)})`,
    ],
    ['samples/s', 15, (row) => `${format(row.samplesPerSecond)} (${format(row.samplesPerCpuSecond)})`],
    ['fraction', 8, (row) => format(fractionOf(row), 2)],
    ['PyTorch smp/s', 15, (row) => (row.torch ? `${format(row.torch.wall)} (${format(row.torch.cpu)})` : 'n/a')],
    ['ours/PyTorch', 12, (row) => (row.torch ? `${format(torchRatio(row) ?? 0, 2)}x` : 'n/a')],
  ];
  const cell = (text: string, width: number, index: number) => (index < 2 ? text.padEnd(width) : text.padStart(width));
  console.log(
    `\n${columns.map(([title, width], index) => cell(title, width, index)).join('  ')}  runs (per CPU second)`,
  );
  for (const row of rows) {
    const runs = row.runs.map((run) => `${format(run.wall)} (${format(run.cpu)})`).join(', ');
    console.log(`${columns.map(([, width, value], index) => cell(value(row), width, index)).join('  ')}  ${runs}`);
  }
  console.log(
    "Figures in brackets are per second of this process's CPU time; the fraction of the ceiling compares those, as the\n" +
      "wall-time figures of both sides move with the rest of the machine's load. PyTorch runs in its own process, by wall time.",
  );
}

/** Measures and prints the ceiling table; returns its rows for the targets. */
export async function ceilingTable(): Promise<CeilingRow[]> {
  console.log(
    `\n== The WebAssembly ceiling: XNNPACK products of a step against training end to end, one thread, batch ${batchSize} ==`,
  );
  console.log(
    `load average at the start: ${os
      .loadavg()
      .map((load) => format(load, 2))
      .join(' ')}`,
  );
  await selectBackend('wasm');
  const dataset = await loadDataset('mnist');
  const rows: CeilingRow[] = [];
  for (const network of ['mlp', 'deep', 'cnn'] as const) rows.push(...(await measureNetwork(network, dataset)));
  printTable(rows);
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((load) => format(load, 2))
      .join(' ')}`,
  );
  return rows;
}
