// One measurement of the bare training loop in a fresh process, printed as one JSON line:
//   node dist/bench/loop.js <wasm|wasm-stock|cpu|tensorflow> <mlp|deep|lenet> <trainSamples> [testSamples] [warmupSamples] [epochs]
import { parseJobSpec } from '../domain/job-spec.js';
import { selectBackend, type BackendName } from '../training/backend.js';
import { loadDataset } from '../datasets/loading/index.js';
import { train } from '../training/train.js';
import { benchSpec, type NetworkName } from './networks.js';

const [backendArgument = 'wasm', network = 'mlp', samples = '6400', tests = '100', warmup = '640', epochCount = '1'] =
  process.argv.slice(2);
const stock = backendArgument === 'wasm-stock';
const backend = await selectBackend((stock ? 'wasm' : backendArgument) as BackendName, { wasmFastPath: !stock });
const dataset = await loadDataset('mnist');

function spec(trainSamples: number, epochs = 1) {
  const parsed = parseJobSpec(benchSpec(network as NetworkName, trainSamples, Number(tests), epochs), {
    maxParameters: Number.MAX_SAFE_INTEGER,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

// Warm-up: kernels compiled, operators cached, memory grown.
if (Number(warmup) > 0) await train(spec(Number(warmup)), dataset);
const started = performance.now();
const result = await train(spec(Number(samples), Number(epochCount)), dataset);
const wallMs = performance.now() - started;
// Over several epochs: all samples trained over the time spent training them (evaluation excluded).
const trainingSeconds = result.epochs.reduce((sum, epoch) => sum + Number(samples) / epoch.samplesPerSecond, 0);
const last = result.epochs.at(-1);
process.stdout.write(
  `${JSON.stringify({
    backend: stock ? 'wasm-stock' : backend,
    network,
    samples: Number(samples),
    samplesPerSecond: (Number(samples) * result.epochs.length) / trainingSeconds,
    wallMs,
    testAccuracy: last?.testAccuracy,
    epochs: result.epochs.map(({ epoch, testAccuracy, testLoss }) => ({ epoch, testAccuracy, testLoss })),
  })}\n`,
);
