// bench:train's first table: for each network and optimizer, the WebAssembly ceiling of a training
// step (its matrix products at this process's XNNPACK throughput), the samples/s training reaches end
// to end in the same process and thread, the fraction of the ceiling that is, and PyTorch on one thread.
import os from 'node:os';
import type { JobSpec, OptimizerName } from '../domain/job-spec.js';
import { parseJobSpec } from '../domain/job-spec.js';
import { modelInputShape } from '../domain/model-shape.js';
import { selectBackend } from '../training/backend.js';
import { loadDataset, type Dataset } from '../training/datasets/index.js';
import { train } from '../training/train.js';
import { ceilingOf, measureProducts, stepProducts, type MeasuredProduct } from './ceiling.js';
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

export interface CeilingRow {
  network: NetworkName;
  optimizer: OptimizerName;
  ceilingGflops: number;
  ceilingSamplesPerSecond: number;
  samplesPerSecond: number;
  runs: number[];
  torch?: number;
}

function specOf(network: 'mlp' | 'deep' | 'cnn', optimizer: OptimizerName, samples: number): JobSpec {
  const input = { ...benchSpec(network, samples, 100), optimizer, learningRate: learningRates[optimizer] ?? 0.01 };
  const parsed = parseJobSpec(input, { maxParameters: Number.MAX_SAFE_INTEGER });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

/** Samples/s of one training run of `samples` examples, as its epoch reports it (the test pass excluded). */
async function trainingSpeed(spec: JobSpec, dataset: Dataset): Promise<number> {
  const result = await train(spec, dataset);
  return result.epochs[0]?.samplesPerSecond ?? 0;
}

function printProducts(products: MeasuredProduct[]): void {
  for (const { layer, role, M, K, N, gflops } of products) {
    const shape = `${M}x${K} . ${K}x${N}`;
    console.log(`  layer ${layer} ${role.padEnd(16)} ${shape.padEnd(24)} ${format(gflops, 1).padStart(6)} GFLOP/s`);
  }
}

/** One network: the ceiling measured between the end-to-end runs of each optimizer, interleaved. */
async function measureNetwork(network: 'mlp' | 'deep' | 'cnn', dataset: Dataset): Promise<CeilingRow[]> {
  const spec = specOf(network, 'sgd', samplesOf[network]);
  const layers = spec.model.layers;
  const products = stepProducts(layers, dataset.info.inputShape, batchSize);
  for (const optimizer of optimizers) await train(specOf(network, optimizer, 640), dataset);
  const ceilings: MeasuredProduct[][] = [];
  const runs = new Map<OptimizerName, number[]>(optimizers.map((optimizer) => [optimizer, []]));
  for (let round = 0; round < repetitions; round++) {
    ceilings.push(measureProducts(products));
    for (const optimizer of optimizers)
      runs.get(optimizer)?.push(await trainingSpeed(specOf(network, optimizer, samplesOf[network]), dataset));
  }
  // Each product's median over the rounds.
  const measured = products.map((product, index) => ({
    ...product,
    gflops: median(ceilings.map((round) => round[index]?.gflops ?? 0)),
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
      ceilingGflops: ceiling.gflops,
      ceilingSamplesPerSecond: ceiling.samplesPerSecond,
      samplesPerSecond: median(rates),
      runs: rates,
      ...(torch ? { torch: torch.samplesPerSecond } : {}),
    });
  }
  return rows;
}

function printTable(rows: CeilingRow[]): void {
  const header = [
    'network'.padEnd(34),
    'opt '.padEnd(5),
    'ceiling GFLOP/s',
    'ceiling smp/s',
    '  samples/s',
    'fraction',
    'PyTorch smp/s',
    'ours/PyTorch',
    '  runs',
  ];
  console.log(`\n${header.join('  ')}`);
  for (const row of rows) {
    const cells = [
      networkLabel(row.network).padEnd(34),
      row.optimizer.padEnd(5),
      format(row.ceilingGflops, 1).padStart(15),
      format(row.ceilingSamplesPerSecond).padStart(13),
      format(row.samplesPerSecond).padStart(11),
      format(row.samplesPerSecond / row.ceilingSamplesPerSecond, 2).padStart(8),
      (row.torch === undefined ? 'n/a' : format(row.torch)).padStart(13),
      (row.torch === undefined ? 'n/a' : `${format(row.samplesPerSecond / row.torch, 2)}x`).padStart(12),
      `  ${row.runs.map((rate) => format(rate)).join(', ')}`,
    ];
    console.log(cells.join('  '));
  }
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
