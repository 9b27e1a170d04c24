// `npm run bench:history [steps]`: what serving a long loss history costs the API process: its RSS
// and time while a client reads the whole history, a downsampled one (1,000 points once, and the
// run page's 2,000 points five times), a comparison and a WebSocket replay, against the same
// process idle. Prints figures; asserts nothing.
import { createPrismaClient } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { insertFinishedRun, replaySteps } from './long-runs.js';
import { benchEnv, format, procStatusBytes, startServices } from './services.js';

const stepCount = Number(process.argv[2] ?? 1_000_000);
const mib = (bytes: number) => `${format(bytes / 1024 / 1024)} MiB`;
const rssBytes = (pid: number) => procStatusBytes(pid, 'VmRSS');

/** Runs `work` while sampling `pid`'s RSS every 5 ms; returns its result, the peak RSS and the time. */
async function measured<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peak: number; ms: number }> {
  let peak = rssBytes(pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 5);
  const started = performance.now();
  try {
    const result = await work();
    return { result, peak: Math.max(peak, rssBytes(pid)), ms: performance.now() - started };
  } finally {
    clearInterval(sampler);
  }
}

const env = benchEnv('bench_history', 3800);
console.log(`trainer bench:history: the API process serving one run of ${format(stepCount)} steps`);
const { api, base, stop } = await startServices(env, ['api']);
const prisma = createPrismaClient(env.DATABASE_URL);
try {
  const jobs = createJobsRepository(prisma);
  const started = performance.now();
  const id = await insertFinishedRun(jobs, stepCount, 1);
  const other = await insertFinishedRun(jobs, 1000, 32);
  console.log(`wrote ${format(stepCount)} steps in ${format((performance.now() - started) / 1000, 1)} s`);
  const pid = api.child.pid as number;
  // Warm the routes on the small run, then let the heap settle.
  await (await fetch(`${base}/jobs/${other}/history`)).arrayBuffer();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const idle = rssBytes(pid);
  console.log(`API RSS idle: ${mib(idle)}\n`);

  const report = (label: string, peak: number, ms: number, detail: string) =>
    console.log(
      `${label.padEnd(34)} ${format(ms / 1000, 2).padStart(6)} s   peak RSS ${mib(peak).padStart(9)} (${peak >= idle ? '+' : ''}${mib(peak - idle)} over idle)   ${detail}`,
    );

  const whole = await measured(pid, async () => (await fetch(`${base}/jobs/${id}/history`)).text());
  const body = JSON.parse(whole.result) as { count: number };
  report(
    'GET /jobs/:id/history',
    whole.peak,
    whole.ms,
    `${format(body.count)} steps, ${format(whole.result.length / 1e6, 1)} MB of JSON`,
  );

  const sampled = await measured(
    pid,
    async () => (await (await fetch(`${base}/jobs/${id}/history?points=1000`)).json()) as { count: number },
  );
  report('GET /jobs/:id/history?points=1000', sampled.peak, sampled.ms, `${format(sampled.result.count)} points`);

  // What the dashboard's run page asks for: the curve of 2,000 points, as the median of 5 requests.
  const curve: { ms: number; peak: number; count: number }[] = [];
  for (let index = 0; index < 5; index++) {
    const one = await measured(
      pid,
      async () => (await (await fetch(`${base}/jobs/${id}/history?points=2000`)).json()) as { count: number },
    );
    curve.push({ ms: one.ms, peak: one.peak, count: one.result.count });
  }
  const middle = [...curve].sort((a, b) => a.ms - b.ms)[2] as (typeof curve)[number];
  report('GET /jobs/:id/history?points=2000', middle.peak, middle.ms, `${format(middle.count)} points, median of 5`);

  const compared = await measured(
    pid,
    async () => (await fetch(`${base}/compare?ids=${id},${other}&points=500`)).status,
  );
  report('GET /compare (this run and another)', compared.peak, compared.ms, `status ${compared.result}`);

  const replayed = await measured(pid, () => replaySteps(`${base.replace('http', 'ws')}/jobs/${id}/events`));
  report('WebSocket replay', replayed.peak, replayed.ms, `${format(replayed.result)} steps`);
} finally {
  await prisma.$disconnect();
  await stop();
}
