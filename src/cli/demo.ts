// `npm run demo`: the original MNIST exercise against a running server. Submits the two networks,
// follows both live over WebSockets, prints the comparison and writes the overlaid loss curves.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { ErrorBody } from '../api/schemas/common.js';
import type { Comparison } from '../api/schemas/compare.js';
import type { JobStreamMessage } from '../api/schemas/events.js';
import type { JobView } from '../api/schemas/job.js';
import { exerciseNetworkNames, exerciseSpec } from '../domain/exercise.js';

const { values: options } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.TRAINER_URL ?? 'http://127.0.0.1:3000' },
    out: { type: 'string', default: 'loss-curves.svg' },
    epochs: { type: 'string', default: '3' },
    'train-samples': { type: 'string' },
    'test-samples': { type: 'string' },
    seed: { type: 'string', default: '1' },
  },
});

const base = options.url.replace(/\/$/, '');
async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${base}${path}`, init);
  const body = (await response.json()) as T | ErrorBody;
  if (!response.ok) {
    throw new Error(`${init?.method ?? 'GET'} ${path}: ${response.status} ${(body as ErrorBody).error ?? ''}`);
  }
  return body as T;
}

function printEvent(message: JobStreamMessage, label: string, epochs: number): void {
  if (message.type === 'epoch') {
    console.log(
      `${label.padEnd(30)} epoch ${message.epoch}/${epochs}  test accuracy ${(message.testAccuracy * 100).toFixed(1)}%  ` +
        `test loss ${message.testLoss.toFixed(4)}  train loss ${message.trainLoss.toFixed(4)}  ${Math.round(message.samplesPerSecond)} samples/s`,
    );
  } else if (message.type === 'status' && message.error) {
    console.log(`${label.padEnd(30)} ${message.status}: ${message.error}`);
  }
}

/** Prints a job's epochs as they end; resolves with its final status once the server closes the stream. */
function follow(id: string, label: string, epochs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/jobs/${id}/events`);
    let status = 'queued';
    socket.on('message', (data) => {
      // Text frames arrive as one Buffer (no binaryType is set).
      const message = JSON.parse((data as Buffer).toString()) as JobStreamMessage;
      if (message.type === 'status') status = message.status;
      printEvent(message, label, epochs);
    });
    socket.on('close', () => resolve(status));
    socket.on('error', reject);
  });
}

const percent = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);

/** Submits both networks with the exercise's hyperparameters. */
async function submitNetworks(): Promise<JobView[]> {
  const slice = {
    ...(options['train-samples'] ? { trainSamples: Number(options['train-samples']) } : {}),
    ...(options['test-samples'] ? { testSamples: Number(options['test-samples']) } : {}),
  };
  const specs = exerciseNetworkNames.map((network) =>
    exerciseSpec(network, { tags: ['demo'], seed: Number(options.seed), epochs: Number(options.epochs), ...slice }),
  );
  const jobs = await Promise.all(
    specs.map((spec) =>
      request<JobView>('/jobs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(spec),
      }),
    ),
  );
  jobs.forEach((job, index) =>
    console.log(
      `submitted ${specs[index]?.name} as ${job.id} (${job.parameterCount.toLocaleString('en-US')} parameters)`,
    ),
  );
  return jobs;
}

function printComparison(comparison: Comparison): void {
  console.log(
    '\nrun                             parameters  final acc  best acc  final test loss  training time  samples/s  backend',
  );
  for (const run of comparison.runs) {
    console.log(
      `${run.label.padEnd(31)} ${run.parameterCount.toLocaleString('en-US').padStart(10)}  ${percent(run.finalTestAccuracy).padStart(9)}  ` +
        `${percent(run.bestTestAccuracy).padStart(8)}  ${(run.finalTestLoss?.toFixed(4) ?? '-').padStart(15)}  ` +
        `${`${(run.trainingMs / 1000).toFixed(1)} s`.padStart(13)}  ${String(Math.round(run.samplesPerSecond ?? 0)).padStart(9)}  ${run.backend}`,
    );
  }
  console.log(`hyperparameters that differ: ${comparison.differingHyperparameters.join(', ') || 'none'}`);
  console.log('layers:');
  for (const layer of comparison.architecture.layers) {
    console.log(
      `  ${String(layer.index).padStart(2)} ${layer.same ? ' ' : '*'} ${layer.byRun.map((description) => (description ?? '-').padEnd(20)).join(' ')}`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const jobs = await submitNetworks();
  const epochs = Number(options.epochs);
  const outcomes = await Promise.all(jobs.map((job) => follow(job.id, job.name ?? job.id, epochs)));
  if (outcomes.some((outcome) => outcome !== 'completed')) {
    throw new Error(`not every job completed: ${outcomes.join(', ')}`);
  }
  const ids = jobs.map((job) => job.id).join(',');
  printComparison(await request<Comparison>(`/compare?ids=${ids}`));
  const svg = await fetch(`${base}/compare.svg?ids=${ids}`);
  if (!svg.ok) throw new Error(`GET /compare.svg: ${svg.status}`);
  await writeFile(options.out, await svg.text());
  console.log(`\nloss curves written to ${options.out}`);
  console.log(`demo took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
