// `npm run demo:sweep`: a hyperparameter sweep against a running server. 16 random configurations
// (learning rate log-uniform 1e-3..1, batch size 32 or 128, hidden units 128 or 512) on 10,000 MNIST
// examples with a validation split, 4 epochs each, ASHA stopping the hopeless ones; prints the
// leaderboard, the best run's test accuracy and the share of epochs ASHA saved.
import { parseArgs } from 'node:util';
import { createTrainerClient, unwrap, type Sweep, type SweepEvent, type SweepSpecInput } from '@trainer/client';
import WebSocket from 'ws';

const { values: options } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.TRAINER_URL ?? 'http://127.0.0.1:3000' },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '16' },
    parallel: { type: 'string', default: '2' },
  },
});

const trainer = createTrainerClient({
  baseUrl: options.url.replace(/\/$/, ''),
  apiKey: process.env.TRAINER_API_KEY ?? null,
  WebSocket,
});
const hidden = 'model.layers[0].units';

const sweepSpec: SweepSpecInput = {
  name: 'demo-sweep',
  seed: Number(options.seed),
  base: {
    tags: ['demo-sweep'],
    trainSamples: 10_000,
    validationFraction: 0.1,
    epochs: 4,
    learningRate: 0.01,
    batchSize: 64,
    optimizer: 'sgd',
    model: {
      layers: [
        { type: 'dense', units: 128, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    },
  },
  method: 'random',
  parameters: {
    learningRate: { distribution: 'logUniform', min: 0.001, max: 1 },
    batchSize: { values: [32, 128] },
    [hidden]: { values: [128, 512] },
  },
  maxRuns: Number(options.runs),
  maxParallel: Number(options.parallel),
  objective: { metric: 'validationAccuracy', goal: 'maximize' },
  earlyTermination: { type: 'asha', minEpochs: 1, reductionFactor: 2 },
};

const percent = (value: number | null | undefined) => (value == null ? '-' : `${(value * 100).toFixed(1)}%`);
const describe = (parameters: Record<string, unknown>) =>
  `lr ${Number(parameters.learningRate).toPrecision(3).padEnd(7)} batch ${String(parameters.batchSize).padStart(3)} hidden ${String(parameters[hidden]).padStart(3)}`;

function printEvent(event: SweepEvent): void {
  const run = event.index === undefined ? '' : `run ${String(event.index).padStart(2)}`;
  if (event.type === 'run-started') console.log(`${run} started   ${describe(event.parameters ?? {})}`);
  if (event.type === 'run-finished')
    console.log(`${run} ${event.status}  validation accuracy ${percent(event.objective)}`);
  if (event.type === 'run-stopped') console.log(`${run} stopped   ${event.reason ?? ''}`);
  if (event.type === 'new-best') console.log(`${run} is the best so far: ${percent(event.objective)}`);
}

/** Prints the sweep's events as they come; resolves once the sweep has ended. */
async function follow(id: string): Promise<void> {
  await trainer.followSweep(id, { onMessage: printEvent }).finished;
}

function printLeaderboard(sweep: Sweep): void {
  console.log('\nrank  run  learning rate  batch  hidden  best val acc  epoch  epochs  status');
  for (const entry of sweep.leaderboard) {
    const parameters = entry.parameters;
    console.log(
      `${String(entry.rank).padStart(4)}  ${String(entry.index).padStart(3)}  ${Number(parameters.learningRate).toPrecision(4).padStart(13)}  ` +
        `${String(parameters.batchSize).padStart(5)}  ${String(parameters[hidden]).padStart(6)}  ${percent(entry.objective).padStart(12)}  ` +
        `${String(entry.epoch ?? '-').padStart(5)}  ${String(entry.epochsCompleted).padStart(6)}  ${entry.status}` +
        (entry.stoppedReason ? ` (${entry.stoppedReason})` : ''),
    );
  }
}

async function main(): Promise<void> {
  const sweep = await unwrap(trainer.api.POST('/sweeps', { body: sweepSpec }));
  console.log(`sweep ${sweep.id}: ${sweep.runCount} configurations, at most ${options.parallel} at a time`);
  const started = Date.now();
  await follow(sweep.id);
  const done = await unwrap(trainer.api.GET('/sweeps/{id}', { params: { path: { id: sweep.id } } }));
  printLeaderboard(done);
  const best = done.best;
  if (best) {
    const job = await unwrap(trainer.api.GET('/jobs/{id}', { params: { path: { id: best.jobId } } }));
    const atBest = job.metrics.epochs.find((epoch) => epoch.epoch === job.bestEpoch);
    console.log(
      `\nbest run: ${best.index} (${describe(best.parameters)}), chosen by validation accuracy ${percent(best.objective)} at epoch ${best.epoch}; ` +
        `its test accuracy there: ${percent(atBest?.testAccuracy)} (final ${percent(job.finalTestAccuracy)})`,
    );
  }
  const { trained, planned } = done.epochs;
  console.log(
    `ASHA trained ${trained} of ${planned} epochs: it saved ${percent(1 - trained / planned)} of the epochs against running every configuration to the end ` +
      `(${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
