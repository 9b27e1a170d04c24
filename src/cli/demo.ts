// `npm run demo`: the original MNIST exercise against a running server. Submits the two networks,
// follows both live over WebSockets, prints the comparison and writes the overlaid loss curves.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createTrainerClient, unwrap, type Comparison, type Job, type JobStreamMessage } from '@trainer/client';
import WebSocket from 'ws';
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

const trainer = createTrainerClient({
  baseUrl: options.url.replace(/\/$/, ''),
  apiKey: process.env.TRAINER_API_KEY ?? null,
  WebSocket,
});

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

/** Prints a job's epochs as they end; resolves with its final status once the stream has ended. */
async function follow(id: string, label: string, epochs: number): Promise<string> {
  const followed = trainer.followJob(id, { onMessage: (message) => printEvent(message, label, epochs) });
  return (await followed.finished)?.status ?? 'unknown';
}

const percent = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);

/** Submits both networks with the exercise's hyperparameters. */
async function submitNetworks(): Promise<Job[]> {
  const slice = {
    ...(options['train-samples'] ? { trainSamples: Number(options['train-samples']) } : {}),
    ...(options['test-samples'] ? { testSamples: Number(options['test-samples']) } : {}),
  };
  const specs = exerciseNetworkNames.map((network) =>
    exerciseSpec(network, { tags: ['demo'], seed: Number(options.seed), epochs: Number(options.epochs), ...slice }),
  );
  const jobs = await Promise.all(specs.map((spec) => unwrap(trainer.api.POST('/jobs', { body: spec }))));
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
  const query = { ids: jobs.map((job) => job.id).join(',') };
  printComparison(await unwrap(trainer.api.GET('/compare', { params: { query } })));
  await writeFile(options.out, await unwrap(trainer.api.GET('/compare.svg', { params: { query }, parseAs: 'text' })));
  console.log(`\nloss curves written to ${options.out}`);
  console.log(`demo took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${(error as Error).message}`);
  process.exit(1);
});
