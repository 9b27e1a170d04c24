// The LeNet-style network's figures: samples/s on the fast path and on stock wasm, PyTorch on one
// core when /usr/bin/python3 has torch, and test accuracy after 3 epochs of all of MNIST.
import { lenet } from './networks.js';
import { median, runLoop } from './loop-runner.js';
import { format } from './services.js';
import { measureTorch as measureTorch1, type TorchSpeed } from './torch-reference.js';

export interface LenetSpeeds {
  fast?: number;
  stock?: number;
  torch?: number;
}

/** PyTorch's samples/s on one thread with the same network, optimizer and batch, or undefined without torch. */
function measureTorch(): Promise<TorchSpeed | undefined> {
  return measureTorch1({
    layers: lenet.layers,
    inputShape: [28, 28, 1],
    optimizer: lenet.training.optimizer,
    learningRate: lenet.training.learningRate,
    batchSize: lenet.training.batchSize,
  });
}

/** Measures and prints the LeNet speeds: fast path (median of 3), stock wasm, PyTorch on one core. */
export async function measureLenetSpeed(): Promise<LenetSpeeds> {
  console.log(`\n== ${lenet.label}, bare loop, batch 64, Adam lr 0.001 (samples/s after a warm-up) ==`);
  const speeds: LenetSpeeds = {};
  const fastRates: number[] = [];
  for (let run = 0; run < 3; run++) {
    const result = await runLoop('wasm', 'lenet', 3200, 100, 640);
    if (result) fastRates.push(result.samplesPerSecond);
  }
  if (fastRates.length > 0) speeds.fast = median(fastRates);
  const stock = await runLoop('wasm-stock', 'lenet', 640, 100, 128);
  if (stock) speeds.stock = stock.samplesPerSecond;
  const line = (label: string, rate: number | undefined, extra = '') =>
    console.log(
      `${label.padEnd(38)} ${rate === undefined ? 'failed to run' : `${format(rate).padStart(7)} samples/s`}${extra}`,
    );
  line('wasm fast path', speeds.fast, `  (runs ${fastRates.map((rate) => format(rate)).join(', ')})`);
  line(
    'wasm stock kernels (+ Conv2DBackpropFilter)',
    speeds.stock,
    speeds.fast && speeds.stock ? `  fast path ${format(speeds.fast / speeds.stock, 1)}x` : '',
  );
  const torch = await measureTorch();
  if (torch) {
    speeds.torch = torch.samplesPerSecond;
    line(
      `PyTorch ${torch.version}, one core`,
      torch.samplesPerSecond,
      speeds.fast ? `  fast path ${format(speeds.fast / torch.samplesPerSecond, 2)}x PyTorch` : '',
    );
  }
  return speeds;
}

/** The speed target, measured against PyTorch when it ran. */
export function lenetSpeedTarget(speeds: LenetSpeeds): { goal: string; measured: string; met: boolean } {
  const goal = `${lenet.label} on wasm: at least 0.3x PyTorch on one core`;
  const fast = speeds.fast ?? 0;
  if (speeds.torch === undefined) {
    return { goal, measured: `${format(fast)} samples/s; PyTorch not installed, not compared`, met: false };
  }
  return {
    goal,
    measured: `${format(fast)} samples/s, ${format(fast / speeds.torch, 2)}x PyTorch's ${format(speeds.torch)}`,
    met: fast >= 0.3 * speeds.torch,
  };
}

/** Trains LeNet on all of MNIST for 3 epochs on the fast path; prints each epoch, returns the last accuracy. */
export async function measureLenetAccuracy(): Promise<number | undefined> {
  console.log(`\n== ${lenet.label}: 3 epochs of all 60,000, Adam lr 0.001, batch 64, fast path ==`);
  const result = await runLoop('wasm', 'lenet', 60_000, 10_000, 0, 3);
  if (!result) {
    console.log('failed to run');
    return undefined;
  }
  for (const epoch of result.epochs) {
    console.log(
      `epoch ${epoch.epoch}: test accuracy ${format(epoch.testAccuracy * 100, 2)}%, test loss ${format(epoch.testLoss, 4)}`,
    );
  }
  console.log(`${format(result.samplesPerSecond)} samples/s over the three epochs`);
  return result.testAccuracy;
}
