// `npm run bench:predict`: the predictor (inference thread pool, model caches, input validation) on
// the exercise's 784-512-512-10 network with random weights: warm single-input latency at a steady
// rate, batch latency and throughput, the cold first request, and RSS with 20 models used in turn
// through a cache sized for about 5. First the predictor directly, then the same through the running
// API's `POST /jobs/:id/predict` (predict-http-bench.ts). `-- --direct-only` or `-- --http-only` runs one of them.
import { createPredictor, type ModelFiles, type Predictor, type PredictorModel } from '../inference/predictor.js';
import { exerciseNetworks as networks } from '../domain/exercise.js';
import { httpPass } from './predict-http-bench.js';
import { percentile, randomWeights, template, verdict } from './predict-fixtures.js';
import { format, procStatusBytes } from './services.js';
import { openLoopLatencies } from './open-loop.js';

const features = 784;
const rate = 200;
const steadySeconds = 10;
const modelCount = 20;
const cachedModels = 5;
const rounds = 6;
const mib = (bytes: number) => `${format(bytes / 1024 / 1024, 1)} MiB`;
const rss = () => procStatusBytes(process.pid, 'VmRSS');

function randomInputs(count: number): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: features }, () => Math.floor(Math.random() * 256)));
}

const modelOf = (index: number): PredictorModel => ({
  key: `model-${index}`,
  inputShape: [28, 28],
  preprocessing: { scale: 1 / 255, mean: 0.1307, std: 0.3081 },
  classCount: 10,
  classNames: null,
});

async function timed(predictor: Predictor, model: PredictorModel, inputs: number[][]): Promise<number> {
  const started = performance.now();
  const outcome = await predictor.predict(model, { inputs });
  if (!outcome.ok) throw new Error(JSON.stringify(outcome.error));
  return performance.now() - started;
}

/** Single inputs at a steady rate through the predictor. */
async function steadyLatencies(predictor: Predictor, model: PredictorModel): Promise<number[]> {
  const inputs = randomInputs(64);
  return openLoopLatencies(rate, steadySeconds, async (index) => {
    const outcome = await predictor.predict(model, { inputs: [inputs[index % inputs.length] as number[]] });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.error));
  });
}

/** Closed loop for `seconds` with `concurrency` requests in flight; inputs per second and latencies. */
async function throughput(
  predictor: Predictor,
  model: PredictorModel,
  batch: number,
  concurrency: number,
  seconds = 3,
) {
  const inputs = randomInputs(batch);
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) latencies.push(await timed(predictor, model, inputs));
    }),
  );
  return { perSecond: (latencies.length * batch * 1000) / (performance.now() - started), latencies };
}

async function measureCold(predictor: Predictor): Promise<{ first: number; newModel: number }> {
  const input = randomInputs(1);
  const first = await timed(predictor, modelOf(0), input);
  const newModel = await timed(predictor, modelOf(1), input);
  console.log(`cold: first request ${format(first, 1)} ms (threads starting, model loaded and built)`);
  console.log(`      first request for another model on running threads ${format(newModel, 1)} ms`);
  return { first, newModel };
}

async function measureWarm(predictor: Predictor) {
  const model = modelOf(0);
  for (let round = 0; round < 200; round++) await timed(predictor, model, randomInputs(1));
  const latencies = await steadyLatencies(predictor, model);
  const single = { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
  console.log(`single input at ${rate} requests/s for ${steadySeconds} s (${latencies.length} requests):`);
  console.log(
    `  p50 ${format(single.p50, 2)} ms, p99 ${format(single.p99, 2)} ms, max ${format(Math.max(...latencies), 1)} ms`,
  );
  const batches: Record<number, number> = {};
  for (const batch of [1, 100, 1000]) {
    const alone = await throughput(predictor, model, batch, 1, 2);
    const parallel = await throughput(predictor, model, batch, predictor.stats().threads);
    batches[batch] = percentile(alone.latencies, 0.5);
    console.log(
      `batch of ${format(batch)}: ${format(batches[batch], 2)} ms per request alone (p50, p99 ${format(percentile(alone.latencies, 0.99), 2)} ms); ` +
        `${format(parallel.perSecond)} inputs/s with ${predictor.stats().threads} in flight`,
    );
  }
  return { single, batch1000: batches[1000] ?? NaN };
}

/** RSS while `modelCount` models are used in turn, `rounds` times, through a cache for `cachedModels`. */
async function measureMemory(predictor: Predictor) {
  const baseline = rss();
  const peaks: number[] = [];
  for (let round = 0; round < rounds; round++) {
    let peak = 0;
    for (let index = 0; index < modelCount; index++) {
      await timed(predictor, modelOf(100 + index), randomInputs(10));
      peak = Math.max(peak, rss());
    }
    peaks.push(peak);
  }
  return { baseline, peaks };
}

async function main(): Promise<void> {
  const { modelJson, weightBytes } = await template();
  const modelBytes = modelJson.length + weightBytes;
  const cacheBytes = Math.floor(modelBytes * (cachedModels + 0.5));
  const threads = 2;
  const predictor = createPredictor({
    threads,
    cacheBytes,
    loadArtifacts: ({ key }): Promise<ModelFiles> =>
      Promise.resolve({ modelJson, weights: randomWeights(weightBytes, Number(key.split('-')[1])) }),
  });
  console.log(
    `${networks.mlp.label}: ${mib(modelBytes)} per model; ${threads} inference threads; cache ${mib(cacheBytes)}`,
  );
  try {
    const cold = await measureCold(predictor);
    const warm = await measureWarm(predictor);
    const memory = await measureMemory(predictor);
    const bound = (threads + 1) * cacheBytes;
    const growth = Math.max(...memory.peaks) - memory.baseline;
    console.log(
      `RSS with ${modelCount} models in turn (${rounds} rounds): baseline ${mib(memory.baseline)}, ` +
        `peaks ${memory.peaks.map(mib).join(', ')}; loads ${predictor.stats().loads}, thread builds ${predictor.stats().threadBuilds}`,
    );
    console.log('targets:');
    verdict('warm single-input p99 < 10 ms at 200 req/s', warm.single.p99 < 10, `${format(warm.single.p99, 2)} ms`);
    verdict('batch of 1,000 < 100 ms', warm.batch1000 < 100, `${format(warm.batch1000, 1)} ms (p50)`);
    // Bounded: once every cache is full, using more distinct models must not grow the process.
    const firstHalf = Math.max(...memory.peaks.slice(0, rounds / 2));
    const secondHalf = Math.max(...memory.peaks.slice(rounds / 2));
    verdict(
      'RSS bounded by the cache limit',
      secondHalf <= firstHalf * 1.1,
      `peak ${mib(secondHalf)} in the last ${rounds / 2} rounds vs ${mib(firstHalf)} in the first ${rounds / 2}; ` +
        `growth over the baseline ${mib(growth)}, against ${mib(bound)} of caches ((threads + 1) x cache) plus garbage not yet collected`,
    );
    console.log(`(cold first request: ${format(cold.first, 1)} ms; no target)`);
  } finally {
    await predictor.close();
  }
}

if (!process.argv.includes('--http-only')) await main();
// The same measures through the real API: HTTP, JSON, the store and the route around the predictor.
if (!process.argv.includes('--direct-only')) await httpPass();
