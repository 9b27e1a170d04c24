// `npm run bench:fork [forks]`: what forking costs. The API and a worker run in processes of their
// own. The worker trains the exercise's first network (784-512-512-10, 669,706 parameters) with Adam
// for 2 epochs and is stopped; 10,000 more runs are put in the database; then POST /jobs/:id/fork is
// timed one request at a time, beside POST /jobs of the same spec as the baseline. Also prints the
// size of a kept checkpoint against the float32 weights and Adam's two slots it must hold.
// Prints figures; asserts nothing.
import { exerciseNetworks } from '../domain/exercise.js';
import { createPrismaClient } from '../store/database.js';
import { benchEnv, format, startServices, submitJob } from './services.js';

const forks = Number(process.argv[2] ?? 500);
const warmup = 50;
const otherRuns = 10_000;

const parentSpec = {
  name: 'bench-fork-parent',
  seed: 1,
  trainSamples: 640,
  testSamples: 200,
  epochs: 2,
  batchSize: 64,
  learningRate: 0.001,
  optimizer: 'adam',
  model: { layers: exerciseNetworks.mlp.layers },
};

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (fraction: number) => sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? NaN };
}

async function finished(base: string, id: string): Promise<{ status: string; parameterCount: number }> {
  for (;;) {
    const job = (await (await fetch(`${base}/jobs/${id}`)).json()) as { status: string; parameterCount: number };
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Milliseconds of each of `count` POSTs of `body` to `url`, one at a time, after `warmup` untimed. */
async function timePosts(url: string, body: unknown, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < warmup + count; index++) {
    const started = performance.now();
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    if (response.status !== 201) throw new Error(`POST ${url} answered ${response.status}`);
    if (index >= warmup) times.push(performance.now() - started);
  }
  return times;
}

console.log(`trainer bench:fork: ${forks} forks with ${format(otherRuns)} other runs in the database`);
const env = benchEnv('bench_fork', 4000, { WORKER_CONCURRENCY: '1' });
const services = await startServices(env, ['worker', 'api']);
const prisma = createPrismaClient(env.DATABASE_URL);
try {
  const { base } = services;
  const parentId = await submitJob(base, parentSpec);
  const parent = await finished(base, parentId);
  if (parent.status !== 'completed') throw new Error(`the parent run ended ${parent.status}`);
  // Forks are timed, not trained: nothing else competes for the CPU meanwhile.
  await services.worker.stop();

  const listed = (await (await fetch(`${base}/jobs/${parentId}/checkpoints`)).json()) as {
    checkpoints: { epoch: number; bytes: number }[];
  };
  const kept = listed.checkpoints.at(-1);
  if (!kept) throw new Error('the parent kept no checkpoint');
  // Weights and Adam's first and second moments, float32 each.
  const floor = parent.parameterCount * 4 * 3;
  const ratio = kept.bytes / floor;
  console.log(
    `kept checkpoint of ${exerciseNetworks.mlp.label} (${format(parent.parameterCount)} parameters, Adam): ${format(kept.bytes)} bytes = ${format(ratio, 4)} x float32 weights + slots (${format(floor)} bytes); target <= 1.1: ${ratio <= 1.1 ? 'met' : 'MISSED'}`,
  );

  await prisma.$executeRaw`
    INSERT INTO jobs (id, name, dataset, spec, status, parameter_count, total_steps, input_shape, owner, finished_at)
    SELECT gen_random_uuid(), 'bench-other-' || n, dataset, spec, 'completed', parameter_count, total_steps,
      input_shape, owner, now()
    FROM jobs, generate_series(1, ${otherRuns}) AS n WHERE id = ${parentId}::uuid`;
  const total = await prisma.job.count();
  console.log(`${format(total)} runs in the database\n`);

  const submits = percentiles(await timePosts(`${base}/jobs`, { ...parentSpec, epochs: 3 }, forks));
  const forked = percentiles(
    await timePosts(`${base}/jobs/${parentId}/fork`, { fromEpoch: 2, overrides: { epochs: 3 } }, forks),
  );
  const line = (label: string, figures: ReturnType<typeof percentiles>) =>
    console.log(
      `${label.padEnd(34)} p50 ${format(figures.p50, 1).padStart(7)} ms  p99 ${format(figures.p99, 1).padStart(7)} ms  max ${format(figures.max, 1).padStart(7)} ms`,
    );
  line('POST /jobs (baseline)', submits);
  line('POST /jobs/:id/fork', forked);
  console.log(
    `\nfork p99 / submit p99: ${format(forked.p99 / submits.p99, 2)}; target fork p99 < 200 ms: ${forked.p99 < 200 ? 'met' : 'MISSED'} (${format(forked.p99, 1)} ms)`,
  );
} finally {
  await prisma.$disconnect();
  await services.stop();
}
