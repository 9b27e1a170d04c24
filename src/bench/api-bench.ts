// `npm run bench:api [seconds]`: requests/s and latency of the API's request paths at 50
// connections (autocannon), against a real API process and database with no worker running (the
// queue only fills), beside a bare fastify route in this process as the machine's ceiling. Lists
// are measured at 1,000, 10,000 and 100,000 runs. Prints figures and whether each target is met.
// Each figure of the API follows about a second of the same load, unmeasured: the API process is
// fresh, and without it the first figure of each path (and of each list after new runs were added)
// would include its warm-up (JIT compilation, pg's prepared statements, Postgres's caches).
// Throughput targets were set on a machine whose bare route served 47,000/s: each verdict is printed
// as set and scaled to this run's bare route.
import autocannon, { type AutocannonOptions } from 'autocannon';
import Fastify from 'fastify';
import { createPrismaClient, withConnection } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { benchSpec, createBenchJob } from './networks.js';
import { baseUrl, benchEnv, format, removeBenchData, startQuietApi } from './services.js';

const seconds = Number(process.argv[2] ?? 5);
const env = benchEnv('bench_api', 3900, {
  // Per-request info logs go to a pipe this process drains; warn keeps the figures about the API.
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const base = baseUrl(env);

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

/** Waits until the API answers a health check within a second: requests left over from the last figure are done. */
async function settled(): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const started = Date.now();
    const answered = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) }).then(
      () => true,
      () => false,
    );
    if (answered && Date.now() - started < 1000) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const warmUpSeconds = 1;

async function load(url: string, options: Partial<AutocannonOptions> = {}): Promise<Figures> {
  if (url.startsWith(base)) {
    await settled();
    await autocannon({ url, connections: 50, ...options, duration: warmUpSeconds });
    await settled();
  }
  const result = await autocannon({ url, connections: 50, duration: seconds, ...options });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors + result.timeouts,
  };
}

let ceiling = 1;
const rows: string[] = [];
function report(label: string, figures: Figures): Figures {
  const line = `${label.padEnd(44)} ${format(figures.rps).padStart(7)} req/s  p50 ${format(figures.p50, 1).padStart(6)} ms  p99 ${format(figures.p99, 1).padStart(7)} ms  ${format((100 * figures.rps) / ceiling, 1).padStart(5)}% of bare${figures.failed ? `  (${format(figures.failed)} failed)` : ''}`;
  console.log(line);
  rows.push(line);
  return figures;
}

/** Adds completed runs until there are `total`: names, tags and accuracies vary, as real ones do. */
async function fillRuns(total: number): Promise<void> {
  await withConnection(env.DATABASE_URL, async (client) => {
    const { rows: counted } = await client.query<{ count: string }>('SELECT count(*) FROM jobs');
    const have = Number(counted[0]?.count ?? 0);
    await client.query(
      `INSERT INTO jobs (id, name, dataset, spec, status, parameter_count, total_steps, step, epoch, tags,
         final_test_accuracy, best_test_accuracy, final_test_loss, duration_ms, created_at, started_at, finished_at, backend)
       SELECT gen_random_uuid(), 'run-' || n || CASE WHEN n % 100 = 0 THEN '-needle' ELSE '' END, 'mnist',
         (SELECT spec FROM jobs ORDER BY created_at LIMIT 1), 'completed', 669706, 1000, 1000, 3,
         ARRAY['t' || (n % 50), 'demo'], 0.9 + (n % 997) / 10000.0, 0.91 + (n % 991) / 10000.0, 0.3, 60000 + n % 1000,
         now() - make_interval(secs => n), now() - make_interval(secs => n), now() - make_interval(secs => n), 'wasm'
       FROM generate_series($1::int + 1, $2::int) AS n`,
      [have, total],
    );
    // As autovacuum leaves a table that grew over time: statistics current, and the name index's
    // pending list of new entries merged (a bulk insert leaves tens of thousands in it, which every
    // search through that index would scan).
    await client.query('VACUUM ANALYZE jobs');
  });
}

const spec = benchSpec('mlp', 2000, 500, 1);

async function seedRun(steps: number): Promise<string> {
  const prisma = createPrismaClient(env.DATABASE_URL);
  try {
    const jobs = createJobsRepository(prisma);
    const { id } = await createBenchJob(jobs, spec);
    for (let first = 1; first <= steps; first += 5000) {
      const batch = Array.from({ length: Math.min(5000, steps - first + 1) }, (_, index) => ({
        step: first + index,
        epoch: 1 + Math.floor((first + index - 1) / 20_000),
        loss: Math.fround(2.3 / (1 + (first + index) / 20_000) + 0.05 * Math.sin(first + index)),
      }));
      await jobs.recordSteps(id, batch);
    }
    return id;
  } finally {
    await prisma.$disconnect();
  }
}

const verdict = (met: boolean) => (met ? 'met' : 'MISSED');
/** The bare fastify route's rate on the machine the targets were set on. */
const targetCeiling = 47_000;
/**
 * A throughput target as set (on a machine whose bare route served 47,000/s) and scaled to this
 * run's bare route: machines and moments differ severalfold, so both verdicts are printed.
 */
function rateVerdict(figures: Figures, target: number): string {
  const scaled = (target * ceiling) / targetCeiling;
  const ok = answered(figures);
  return `${verdict(ok && figures.rps >= target)}; scaled to this run's bare route (${format(scaled)}/s): ${verdict(ok && figures.rps >= scaled)}`;
}
/** A figure counts only if requests were answered and none failed (a timed-out run has no latency to judge). */
const answered = (...figures: Figures[]) => figures.every((figure) => figure.rps > 0 && figure.failed === 0);

/** The machine's ceiling: a bare fastify route in this process. */
async function measureCeiling(): Promise<void> {
  const bare = Fastify();
  bare.get('/bare', () => ({ ok: true }));
  const bareAddress = await bare.listen({ host: '127.0.0.1', port: 0 });
  ceiling = (await load(`${bareAddress}/bare`)).rps;
  report('bare fastify route (ceiling)', { rps: ceiling, p50: 0, p99: 0, failed: 0 });
  await bare.close();
}

async function main(): Promise<void> {
  console.log(
    `trainer bench:api: 50 connections, ${seconds} s per figure, worker stopped; API LOG_LEVEL=${env.LOG_LEVEL}`,
  );
  console.log('(the machine is shared: compare the % of the bare route more than absolute figures)\n');
  await measureCeiling();

  const api = await startQuietApi(env);
  const targets: string[] = [];
  try {
    const id = await seedRun(100_000);
    const one = report('GET /jobs/:id', await load(`${base}/jobs/${id}`));
    targets.push(`GET /jobs/:id >= 4,000/s: ${rateVerdict(one, 4000)} (${format(one.rps)})`);
    // Each of these takes hundreds of ms of CPU: a longer run, so some finish within it.
    report(
      'GET /jobs/:id/history?points=500 (100k steps)',
      await load(`${base}/jobs/${id}/history?points=500`, { duration: Math.max(seconds, 20) }),
    );
    const lists = {
      newest: '',
      'best accuracy': '&sort=bestAccuracy',
      'name contains': '&name=needle',
      tag: '&tag=t7',
    };
    const at = new Map<string, Figures>();
    for (const runs of [1000, 10_000, 100_000]) {
      await fillRuns(runs);
      for (const [label, query] of Object.entries(lists)) {
        const figures = report(
          `GET /jobs ${label} @ ${format(runs)} runs`,
          await load(`${base}/jobs?limit=20${query}`),
        );
        at.set(`${label}@${runs}`, figures);
      }
    }
    // Last: every job it submits stays queued and would count as a run above.
    const post = report(
      'POST /jobs',
      await load(`${base}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(spec),
      }),
    );
    targets.push(`POST /jobs >= 1,500/s: ${rateVerdict(post, 1500)} (${format(post.rps)})`);
    for (const label of Object.keys(lists)) {
      const large = at.get(`${label}@100000`) as Figures;
      const small = at.get(`${label}@1000`) as Figures;
      targets.push(
        `GET /jobs ${label} @ 100,000 >= 1,000/s: ${rateVerdict(large, 1000)} (${format(large.rps)}/s)`,
        `GET /jobs ${label} @ 100,000 p99 < 100 ms: ${verdict(answered(large) && large.p99 < 100)} (p99 ${format(large.p99)} ms)`,
        `GET /jobs ${label} latency 1,000 -> 100,000 runs within 2x: ${verdict(answered(small, large) && large.p50 <= 2 * Math.max(small.p50, 1))} (p50 ${format(small.p50, 1)} -> ${format(large.p50, 1)} ms)`,
      );
    }
  } finally {
    await api.stop();
    await removeBenchData(env);
  }
  console.log(`\ntargets:\n  ${targets.join('\n  ')}`);
}

await main();
