// `npm run bench:train`: the WebAssembly ceiling against training end to end and PyTorch, training
// speed on each backend, the cost of the whole system over the bare loop, two concurrent jobs against
// one, and worker memory over a run of jobs. Prints figures; asserts nothing.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { idleCores } from './idle-cores.js';
import { lenetSpeedTarget, measureLenetSpeed } from './lenet.js';
import { median, runLoop } from './loop-runner.js';
import { benchSpec, networkLabel, type NetworkName } from './networks.js';
import { ceilingTable, fractionOf, torchRatio, type CeilingRow } from './train-ceiling.js';
import { workerOverhead } from './worker-overhead.js';
import { recycleMemory } from './recycle-memory.js';
import { benchEnv, format, messageText, procStatusBytes, startServices, submitJob, type Service } from './services.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const node = process.execPath;

function canLoadNative(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(
      node,
      ['-e', "import('@tensorflow/tfjs-node').then(() => process.exit(0), () => process.exit(1))"],
      { cwd: path.join(here, '../..'), stdio: 'ignore' },
    );
    child.on('exit', (code) => resolve(code === 0));
  });
}

/** The targets, collected as they are measured and printed together at the end. */
interface Target {
  goal: string;
  measured: string;
  met: boolean;
}
const targets: Target[] = [];
const target = (goal: string, measured: string, met: boolean) => targets.push({ goal, measured, met });

function ceilingTargets(rows: CeilingRow[]): void {
  const row = (network: NetworkName, optimizer: string) =>
    rows.find((candidate) => candidate.network === network && candidate.optimizer === optimizer);
  for (const network of ['mlp', 'deep'] as const) {
    for (const optimizer of ['sgd', 'adam']) {
      const measured = row(network, optimizer);
      const fraction = measured ? fractionOf(measured) : 0;
      target(
        `${networkLabel(network)} ${optimizer}: at least 75% of the wasm ceiling`,
        `${format(fraction * 100)}%`,
        fraction >= 0.75,
      );
    }
    const [sgd, adam] = [row(network, 'sgd'), row(network, 'adam')];
    const ratio = sgd && adam ? adam.samplesPerCpuSecond / sgd.samplesPerCpuSecond : 0;
    target(`${networkLabel(network)}: Adam within 5% of SGD`, `${format(ratio, 2)}x SGD`, ratio >= 0.95);
  }
  const cnn = row('cnn', 'adam');
  const ratio = cnn && torchRatio(cnn);
  target(
    `${networkLabel('cnn')} adam: at least 0.3x PyTorch on one thread`,
    ratio === undefined ? 'PyTorch not installed, not compared' : `${format(ratio, 2)}x (by CPU time)`,
    ratio !== undefined && ratio >= 0.3,
  );
}

async function trainingSpeed(): Promise<void> {
  console.log(
    '\n== Training speed, bare loop, batch 64, SGD (samples/s after a warm-up; the fast path is the median of 3 runs) ==',
  );
  const plan: [string, NetworkName, number, number][] = [
    ['wasm-stock', 'mlp', 3200, 1],
    ['wasm', 'mlp', 19_200, 3],
    ['cpu', 'mlp', 640, 1],
    ['wasm-stock', 'deep', 1600, 1],
    ['wasm', 'deep', 9600, 3],
    ['cpu', 'deep', 320, 1],
  ];
  if (await canLoadNative()) plan.push(['tensorflow', 'mlp', 19_200, 1], ['tensorflow', 'deep', 9600, 1]);
  const speeds = new Map<string, number>();
  for (const [backend, network, samples, runs] of plan) {
    const label = `${networkLabel(network).padEnd(26)} ${backend.padEnd(11)}`;
    const rates: number[] = [];
    for (let run = 0; run < runs; run++) {
      const result = await runLoop(backend, network, samples, 100, backend === 'cpu' ? 128 : 640);
      if (result) rates.push(result.samplesPerSecond);
    }
    if (rates.length === 0) {
      console.log(`${label} failed to run`);
      continue;
    }
    const rate = median(rates);
    speeds.set(`${backend}/${network}`, rate);
    const stock = speeds.get(`wasm-stock/${network}`);
    const ratio = stock && backend !== 'wasm-stock' ? `  ${format(rate / stock, 2)}x stock wasm` : '';
    const spread = rates.length > 1 ? `  (runs ${rates.map((value) => format(value)).join(', ')})` : '';
    console.log(`${label} ${format(rate).padStart(7)} samples/s over ${format(samples)} samples${ratio}${spread}`);
  }
  const fast = (network: NetworkName) => speeds.get(`wasm/${network}`) ?? 0;
  const stockRatio = (network: NetworkName) => {
    const stock = speeds.get(`wasm-stock/${network}`);
    return stock ? `, ${format(fast(network) / stock, 1)}x stock` : '';
  };
  target(
    '784-512-512-10 on wasm: at least 5,000 samples/s (stretch 6,000)',
    `${format(fast('mlp'))} samples/s${stockRatio('mlp')}`,
    fast('mlp') >= 5000,
  );
  target(
    '784-512-1024-512-128-10 on wasm: at least 2,200 samples/s',
    `${format(fast('deep'))} samples/s${stockRatio('deep')}`,
    fast('deep') >= 2200,
  );
}

async function accuracy(): Promise<void> {
  console.log(
    '\n== Accuracy of the original exercise (784-512-512-10, 3 epochs of all 60,000, SGD lr 0.01, batch 64, fast path) ==',
  );
  const result = await runLoop('wasm', 'mlp', 60_000, 10_000, 0, 3);
  if (!result) {
    console.log('failed to run');
    target('784-512-512-10 test accuracy after 3 epochs: at least 92%', 'failed to run', false);
    return;
  }
  for (const epoch of result.epochs) {
    console.log(
      `epoch ${epoch.epoch}: test accuracy ${format(epoch.testAccuracy * 100, 2)}%, test loss ${format(epoch.testLoss, 4)}`,
    );
  }
  console.log(`${format(result.samplesPerSecond)} samples/s over the three epochs`);
  target(
    '784-512-512-10 test accuracy after 3 epochs: at least 92%',
    `${format(result.testAccuracy * 100, 2)}%`,
    result.testAccuracy >= 0.92,
  );
}

/** Submits `specs` at once and waits until every job has ended; the time that took and the jobs' ids. */
async function submitAndWait(base: string, specs: object[]): Promise<{ ms: number; ids: string[] }> {
  const started = performance.now();
  const ids = await Promise.all(specs.map((spec) => submitJob(base, spec)));
  await Promise.all(
    ids.map(
      (id) =>
        new Promise<void>((resolve, reject) => {
          const socket = new WebSocket(`${base.replace('http', 'ws')}/jobs/${id}/events`);
          socket.on('message', (data) => {
            const message = JSON.parse(messageText(data)) as { type: string; status?: string };
            if (
              message.type === 'status' &&
              message.status !== 'queued' &&
              message.status !== 'running' &&
              message.status !== 'completed'
            ) {
              reject(new Error(`job ${id} ended ${message.status}`));
            }
          });
          socket.on('close', () => resolve());
          socket.on('error', reject);
        }),
    ),
  );
  return { ms: performance.now() - started, ids };
}

/** The whole system (HTTP, queue, worker, Postgres) against the bare training loop on the same job. */
async function systemOverhead(base: string): Promise<void> {
  // Training speed alone varies by several percent from one run to the next here, so each side
  // runs five times, alternating, and the medians are compared.
  console.log('\n== Whole system over the bare loop (784-512-512-10, 20,000 samples, full test set; medians of 5) ==');
  const spec = benchSpec('mlp', 20_000, 10_000);
  const bareMs: number[] = [];
  const systemMs: number[] = [];
  const outsideMs: number[] = [];
  for (let round = 0; round < 5; round++) {
    const bare = await runLoop('wasm', 'mlp', 20_000, 10_000);
    if (bare) bareMs.push(bare.wallMs);
    const { ms, ids } = await submitAndWait(base, [spec]);
    systemMs.push(ms);
    // What the worker spent in the job's epochs (training and testing); the rest is the system's.
    const job = (await (await fetch(`${base}/jobs/${ids[0]}`)).json()) as {
      metrics: { epochs: { durationMs: number }[] };
    };
    outsideMs.push(ms - job.metrics.epochs.reduce((sum, epoch) => sum + epoch.durationMs, 0));
  }
  console.log(`bare loop in one process:            ${bareMs.map((ms) => format(ms / 1000, 2)).join(', ')} s`);
  console.log(
    `HTTP -> queue -> worker -> Postgres:  ${systemMs.map((ms) => format(ms / 1000, 2)).join(', ')} s  (submit to final status over WebSocket)`,
  );
  const overhead = (median(systemMs) / median(bareMs) - 1) * 100;
  console.log(
    `overhead: ${format(overhead, 1)}% (median ${format(median(systemMs) / 1000, 2)} s over median ${format(median(bareMs) / 1000, 2)} s)`,
  );
  console.log(
    `time outside the job's epochs (submit, queue, claim, model setup, final writes, notification): median ${format(median(outsideMs))} ms, ${format((median(outsideMs) / median(systemMs)) * 100, 1)}% of the job`,
  );
  target('whole system over the bare loop: at most 5% slower', `${format(overhead, 1)}%`, overhead <= 5);
}

/** Two jobs at once on a worker with two training threads, against one. */
async function concurrency(base: string): Promise<void> {
  console.log('\n== Two concurrent jobs over one (WORKER_CONCURRENCY=2, 2 cores; median of 3) ==');
  const concurrencySpec = benchSpec('mlp', 15_000, 1000);
  const pairs: number[] = [];
  for (let round = 0; round < 3; round++) {
    const oneMs = (await submitAndWait(base, [concurrencySpec])).ms;
    const twoMs = (await submitAndWait(base, [concurrencySpec, concurrencySpec])).ms;
    pairs.push(twoMs / oneMs);
    console.log(
      `one job: ${format(oneMs / 1000, 2)} s   two jobs at once: ${format(twoMs / 1000, 2)} s   ratio ${format(twoMs / oneMs, 2)}`,
    );
  }
  const bareOne = await runLoop('wasm', 'mlp', 15_000, 1000);
  const barePair = await Promise.all([runLoop('wasm', 'mlp', 15_000, 1000), runLoop('wasm', 'mlp', 15_000, 1000)]);
  target('two concurrent jobs: within 1.3x the time of one', `${format(median(pairs), 2)}x`, median(pairs) <= 1.3);
  console.log(
    `median ratio ${format(median(pairs), 2)}; for reference, two bare loops in two processes at once: ${
      bareOne && barePair[0] && barePair[1]
        ? format(Math.max(barePair[0].wallMs, barePair[1].wallMs) / bareOne.wallMs, 2)
        : 'n/a'
    } of one`,
  );
}

/** The worker's RSS and training-thread tensor count over 20 consecutive jobs. */
async function workerMemory(base: string, worker: Service): Promise<void> {
  console.log('\n== Worker memory over 20 consecutive jobs (784-512-512-10, 5,000 samples each) ==');
  for (let index = 0; index < 20; index++) await submitAndWait(base, [benchSpec('mlp', 5000, 1000)]);
  const completions = worker
    .log()
    .split('\n')
    .filter((line) => line.includes('"status":"completed"') && line.includes('rssBytes'))
    .map((line) => JSON.parse(line) as { rssBytes: number; numTensors: number });
  const last20 = completions.slice(-20);
  const rss = last20.map((entry) => entry.rssBytes / 1024 / 1024);
  const peak = procStatusBytes(worker.child.pid as number, 'VmHWM');
  console.log(
    `RSS after job 1: ${format(rss[0] ?? 0)} MiB, job 5: ${format(rss[4] ?? 0)} MiB, job 10: ${format(rss[9] ?? 0)} MiB, job 20: ${format(rss[19] ?? 0)} MiB`,
  );
  console.log(
    `growth from job 5 to job 20: ${format((rss[19] ?? 0) - (rss[4] ?? 0), 1)} MiB; peak RSS ${format(peak / 1024 / 1024)} MiB`,
  );
  const tensorCounts = [...new Set(last20.map((entry) => entry.numTensors))];
  console.log(`training-thread tensors after each job: ${tensorCounts.join(', ')}`);
  // Flat: after the first few jobs have grown the heaps, less than 2% more by job 20.
  const growth = (rss[19] ?? 0) - (rss[4] ?? 0);
  target(
    'worker RSS and tensor count flat over 20 jobs',
    `RSS ${growth >= 0 ? '+' : ''}${format(growth, 1)} MiB from job 5 to job 20 (${format(rss[19] ?? 0)} MiB); tensors ${tensorCounts.join(', ')}`,
    rss.length === 20 && growth < 0.02 * (rss[4] ?? 0) && tensorCounts.length === 1 && tensorCounts[0] === 0,
  );
}

/** Starts an API and a worker on a fresh database and queue prefix, measures them, and cleans up. */
async function system(): Promise<void> {
  const env = benchEnv('bench', 3900, { WORKER_CONCURRENCY: '2' });
  const { base, worker, stop } = await startServices(env, ['api', 'worker']);
  try {
    // Warm the worker: dataset loaded, both threads' kernels compiled.
    await submitAndWait(base, [benchSpec('mlp', 640, 100), benchSpec('mlp', 640, 100)]);
    await systemOverhead(base);
    await concurrency(base);
    await workerMemory(base, worker);
  } finally {
    await stop();
  }
}

console.log(
  `trainer bench:train on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}`,
);
console.log(
  'reference figures for 784-512-512-10 on this kind of machine: stock tfjs wasm ~640 samples/s, wasm with explicit transposes ~2,700, PyTorch on one core ~17,500',
);
// `-- --only=ceiling,speed` runs some sections: ceiling, speed, lenet, accuracy, system, recycle, overhead,
// threads.
const only = process.argv
  .find((argument) => argument.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const runs = (section: string) => only === undefined || only.includes(section);
if (runs('ceiling')) ceilingTargets(await ceilingTable());
if (runs('speed')) await trainingSpeed();
if (runs('lenet')) {
  const { goal, measured, met } = lenetSpeedTarget(await measureLenetSpeed());
  target(goal, measured, met);
}
if (runs('accuracy')) await accuracy();
if (runs('threads')) await idleCores();
if (runs('system')) await system();
if (runs('recycle')) await recycleMemory();
if (runs('overhead')) {
  const { trainingCores, otherCores } = await workerOverhead();
  const atFullSpeed = (otherCores / trainingCores) * 2;
  target(
    "the worker's own CPU with two jobs training: under 10% of a core",
    `${format(otherCores * 100, 1)}% measured, ${format(atFullSpeed * 100, 1)}% at a core per job`,
    atFullSpeed < 0.1,
  );
}

console.log('\n== Targets ==');
for (const { goal, measured, met } of targets) {
  console.log(`${met ? 'met    ' : 'MISSED '} ${goal.padEnd(66)} ${measured}`);
}
