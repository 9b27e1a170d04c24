// One measurement of the bare training loop in a fresh process, printed as one JSON line:
//   node dist/bench/loop.js <wasm|wasm-stock|cpu|tensorflow> <mlp|deep> <trainSamples> [testSamples] [warmupSamples]
import { parseJobSpec } from '../spec/job-spec.js';
import { selectBackend, type BackendName } from '../training/backend.js';
import { loadDataset } from '../training/datasets/index.js';
import { train } from '../training/train.js';
import { exerciseSpec, type NetworkName } from './networks.js';

const [backendArgument = 'wasm', network = 'mlp', samples = '6400', tests = '100', warmup = '640'] = process.argv.slice(2);
const stock = backendArgument === 'wasm-stock';
const backend = await selectBackend((stock ? 'wasm' : backendArgument) as BackendName, { wasmFastPath: !stock });
const dataset = await loadDataset('mnist');

function spec(trainSamples: number) {
  const parsed = parseJobSpec(exerciseSpec(network as NetworkName, trainSamples, Number(tests)), { maxParameters: Number.MAX_SAFE_INTEGER });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

// Warm-up: kernels compiled, operators cached, memory grown.
await train(spec(Number(warmup)), dataset);
const started = performance.now();
const result = await train(spec(Number(samples)), dataset);
const wallMs = performance.now() - started;
const epoch = result.epochs[0];
process.stdout.write(
  `${JSON.stringify({ backend: stock ? 'wasm-stock' : backend, network, samples: Number(samples), samplesPerSecond: epoch?.samplesPerSecond, wallMs, testAccuracy: epoch?.testAccuracy })}\n`,
);
