// `npm run bench:retention [window seconds]`: what the retention purge costs the API. 10,000 expired
// finished runs, each with a loss history (two step chunks of 480 steps), three epochs' metrics and a
// model (two artifacts, 9 KiB), are written straight into a fresh database beside 10,000 runs kept
// forever, interleaved in time so the newest page of GET /jobs holds both. GET /jobs?limit=20 is then
// loaded at a steady rate (autocannon, 200 requests/s over 10 connections) in windows that alternate
// between no purge (the baseline) and the purge running (RETENTION_BATCH_SIZE, RETENTION_PAUSE_MS),
// until the purge has deleted all 10,000: alternating keeps a machine whose load drifts (a shared one)
// from landing on one side only. The purge is the workers' own function on its own connections here.
// Prints each side's p50 and p99 (the median over its windows, with the windows' range), the increase
// of the p99 beside the target (< 10%), and the purge's rate in runs/s while it ran.
import autocannon, { type AutocannonOptions, type AutocannonResult } from 'autocannon';
import { createLogger } from '../logger.js';
import { createPrismaClient, withConnection } from '../store/database.js';
import { createExpiredRunsRepository } from '../store/jobs/expired-runs.js';
import { purgeExpiredRuns, type PurgeOptions } from '../worker/retention/purge.js';
import { benchSpec } from './networks.js';
import { baseUrl, benchEnv, format, removeBenchData, startQuietApi } from './services.js';
import { parseJobSpec, toStoredJobSpec } from '../domain/job-spec.js';

const windowSeconds = Number(process.argv[2] ?? 5);
const expiredRuns = 10_000;
const rate = 200;
const batchSize = Number(process.env.RETENTION_BATCH_SIZE ?? 50);
const pauseMs = Number(process.env.RETENTION_PAUSE_MS ?? 200);
const env = benchEnv('bench_retention', 4200);
const base = baseUrl(env);

/** The spec of every seeded run, as a submit stores it; the expired ones add a retention of one day. */
function storedSpec(): string {
  const parsed = parseJobSpec(benchSpec('mlp', 2000, 500, 3), { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return JSON.stringify(toStoredJobSpec(parsed.spec));
}

/** Writes the runs with one statement a table: odd n expires (finished two days ago, kept one day), even n is kept. */
async function seed(): Promise<void> {
  await withConnection(env.DATABASE_URL, async (client) => {
    const total = 2 * expiredRuns;
    await client.query(
      `INSERT INTO jobs (id, name, dataset, spec, status, parameter_count, total_steps, step, epoch, tags,
         final_test_accuracy, best_test_accuracy, final_test_loss, duration_ms, created_at, started_at, finished_at, backend)
       SELECT md5('run' || n)::uuid, 'run-' || n, 'mnist',
         CASE WHEN n % 2 = 1 THEN jsonb_set($1::jsonb, '{retention}', '{"days": 1}') ELSE $1::jsonb END,
         'completed', 669706, 960, 960, 3, ARRAY['bench'], 0.9 + (n % 97) / 1000.0, 0.95, 0.3, 60000,
         now() - interval '3 days' + make_interval(secs => n), now() - interval '3 days' + make_interval(secs => n),
         now() - interval '3 days' + make_interval(secs => n + 60), 'wasm'
       FROM generate_series(1, $2::int) AS n`,
      [storedSpec(), total],
    );
    await client.query(
      `INSERT INTO step_chunks (job_id, first_step, epoch, losses_f32)
       SELECT md5('run' || n)::uuid, 1 + 480 * c, 1 + c, array_fill(0.5::real, ARRAY[480])
       FROM generate_series(1, $1::int) AS n, generate_series(0, 1) AS c`,
      [total],
    );
    await client.query(
      `INSERT INTO epoch_metrics (job_id, epoch, test_accuracy, test_loss, train_loss, duration_ms, samples_per_second)
       SELECT md5('run' || n)::uuid, e, 0.9, 0.3, 0.3, 20000, 2000
       FROM generate_series(1, $1::int) AS n, generate_series(1, 3) AS e`,
      [total],
    );
    // A model for each expiring run: its model.json (1 KiB) and weights (8 KiB), released with it.
    await client.query(
      `INSERT INTO artifacts (id, sha256, bytes)
       SELECT md5(kind || n)::uuid, md5(kind || n), CASE kind WHEN 'json' THEN 1024 ELSE 8192 END
       FROM generate_series(1, $1::int, 2) AS n, unnest(ARRAY['json', 'weights']) AS kind`,
      [total],
    );
    await client.query(
      `INSERT INTO artifact_chunks (artifact_id, seq, data)
       SELECT md5(kind || n)::uuid, 0, decode(repeat('ab', CASE kind WHEN 'json' THEN 1024 ELSE 8192 END), 'hex')
       FROM generate_series(1, $1::int, 2) AS n, unnest(ARRAY['json', 'weights']) AS kind`,
      [total],
    );
    await client.query(
      `INSERT INTO models (job_id, version, epoch, model_json_artifact_id, weights_artifact_id, tfjs_version,
         input_shape, scale, mean, std, class_count)
       SELECT md5('run' || n)::uuid, 'final', 3, md5('json' || n)::uuid, md5('weights' || n)::uuid, '4.22.0',
         ARRAY[28, 28], 1 / 255.0, 0.13, 0.31, 10
       FROM generate_series(1, $1::int, 2) AS n`,
      [total],
    );
    // As autovacuum leaves tables that grew over time: statistics current.
    for (const table of ['jobs', 'step_chunks', 'epoch_metrics', 'artifacts', 'artifact_chunks', 'models'])
      await client.query(`VACUUM ANALYZE ${table}`);
  });
}

const load: AutocannonOptions = { url: `${base}/jobs?limit=20`, connections: 10, overallRate: rate };

/** One window of steady load. */
async function window(): Promise<AutocannonResult> {
  return autocannon({ ...load, duration: windowSeconds });
}

/**
 * The purge as a worker runs it, one batch and its pause at a time, while `running()` holds:
 * resolves with the runs it deleted and the time it ran.
 */
async function purgeWhile(
  purge: (options: PurgeOptions) => Promise<{ runs: number }>,
  running: () => boolean,
): Promise<{ runs: number; ms: number }> {
  const started = performance.now();
  let runs = 0;
  while (running()) {
    const batch = await purge({ batchSize, pauseMs, maxBatches: 1 });
    runs += batch.runs;
    if (batch.runs === 0) break;
  }
  return { runs, ms: performance.now() - started };
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

interface Side {
  p99s: number[];
  p50s: number[];
  requests: number;
  failed: number;
}

const side = (): Side => ({ p99s: [], p50s: [], requests: 0, failed: 0 });

function add(into: Side, result: AutocannonResult): void {
  into.p99s.push(result.latency.p99);
  into.p50s.push(result.latency.p50);
  into.requests += result.requests.average * windowSeconds;
  into.failed += result.non2xx + result.errors + result.timeouts;
}

function line(label: string, figures: Side): string {
  return `${label.padEnd(22)} ${String(figures.p99s.length).padStart(3)} windows  p50 ${format(median(figures.p50s), 2).padStart(6)} ms  p99 ${format(median(figures.p99s), 2).padStart(7)} ms (median of windows; windows ${format(Math.min(...figures.p99s), 0)}..${format(Math.max(...figures.p99s), 0)} ms)${figures.failed ? `  ${format(figures.failed)} failed` : ''}`;
}

async function main(): Promise<void> {
  console.log(
    `trainer bench:retention: GET /jobs?limit=20 at ${rate} req/s over 10 connections in ${windowSeconds} s windows; purge batch ${batchSize}, pause ${pauseMs} ms\n`,
  );
  const api = await startQuietApi({ ...env, LOG_LEVEL: 'warn' });
  const prisma = createPrismaClient(env.DATABASE_URL, { poolSize: 2 });
  const runs = createExpiredRunsRepository(prisma);
  const purge = (options: PurgeOptions) =>
    purgeExpiredRuns({ runs, logger: createLogger({ level: 'warn', name: 'bench' }) }, options);
  try {
    const seeded = Date.now();
    await seed();
    console.log(
      `seeded ${format(expiredRuns)} expired and ${format(expiredRuns)} kept runs in ${format((Date.now() - seeded) / 1000, 1)} s`,
    );
    await autocannon({ ...load, duration: 3 });
    const without = side();
    const during = side();
    let deleted = 0;
    let purgeMs = 0;
    while (deleted < expiredRuns) {
      add(without, await window());
      let loading = true;
      const purging = purgeWhile(purge, () => loading);
      add(during, await window());
      loading = false;
      const done = await purging;
      deleted += done.runs;
      purgeMs += done.ms;
      if (done.runs === 0) break;
    }
    add(without, await window());
    console.log(line('without the purge', without));
    console.log(line('while the purge runs', during));
    const before = median(without.p99s);
    const increase = (100 * (median(during.p99s) - before)) / before;
    console.log(
      `\npurge: ${format(deleted)} runs in ${format(purgeMs / 1000, 1)} s of purging = ${format(deleted / (purgeMs / 1000), 0)} runs/s`,
    );
    console.log(
      `GET /jobs p99: ${format(before, 2)} ms without, ${format(median(during.p99s), 2)} ms during the purge: ${increase >= 0 ? '+' : ''}${format(increase, 1)}% (target < 10%: ${increase < 10 ? 'met' : 'MISSED'})`,
    );
  } finally {
    await prisma.$disconnect();
    await api.stop();
    await removeBenchData(env);
  }
}

await main();
