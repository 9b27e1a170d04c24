// `npm run bench:conv`: the LeNet-style network's speed (fast path, stock wasm, PyTorch on one core)
// and its test accuracy after 3 epochs of all of MNIST (several minutes). `--speed` skips the accuracy.
import os from 'node:os';
import { lenetSpeedTarget, measureLenetAccuracy, measureLenetSpeed } from './lenet.js';
import { format } from './services.js';

console.log(
  `trainer bench:conv on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}`,
);
const speed = lenetSpeedTarget(await measureLenetSpeed());
const targets = [speed];
if (!process.argv.includes('--speed')) {
  const accuracy = await measureLenetAccuracy();
  targets.push({
    goal: '28x28x1-c32k3-p2-c64k3-p2-f-128-10 test accuracy after 3 epochs: at least 98.5%',
    measured: accuracy === undefined ? 'failed to run' : `${format(accuracy * 100, 2)}%`,
    met: (accuracy ?? 0) >= 0.985,
  });
}
console.log('\n== Targets ==');
for (const { goal, measured, met } of targets)
  console.log(`${met ? 'met    ' : 'MISSED '} ${goal.padEnd(66)} ${measured}`);
