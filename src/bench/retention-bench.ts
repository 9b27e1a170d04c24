// `npm run bench:retention [seconds]`: what the retention purge costs the API. 10,000 expired finished
// runs, each with a loss history (two step chunks of 480 steps), three epochs' metrics and a model
// (two artifacts, 9 KiB), are written straight into a fresh database beside 10,000 runs kept forever,
// interleaved in time so the newest page of GET /jobs holds both. GET /jobs is then loaded at a
// steady rate (autocannon, 200 requests/s over 10 connections) twice without a purge (the baseline,
// and a second time to show how much the figure moves on its own), then while a worker process
// purges the 10,000 runs with the configured batch size and pause. Prints both p99s, the increase
// beside the target (< 10%), and the purge's rate in runs/s.
import autocannon, { type AutocannonOptions, type AutocannonResult } from 'autocannon';
import { Redis } from 'ioredis';
import { createRetentionQueue } from '../queue/retention-queue.js';
import { withConnection } from '../store/database.js';
import { benchSpec } from './networks.js';
import { baseUrl, benchEnv, format, removeBenchData, startQuietApi, startService } from './services.js';
import { parseJobSpec, toStoredJobSpec } from '../domain/job-spec.js';

const seconds = Number(process.argv[2] ?? 20);
const expiredRuns = 10_000;
const rate = 200;
const env = benchEnv('bench_retention', 4200, {
  RETENTION_BATCH_SIZE: process.env.RETENTION_BATCH_SIZE ?? '50',
  RETENTION_PAUSE_MS: process.env.RETENTION_PAUSE_MS ?? '200',
  // The purge is started by hand once the baseline is measured; the scheduler's own turns are a day apart.
  RETENTION_INTERVAL_SECONDS: '86400',
  WORKER_CONCURRENCY: '1',
});
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

async function expiringLeft(): Promise<number> {
  return withConnection(env.DATABASE_URL, async (client) => {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM jobs WHERE expires_at IS NOT NULL');
    return Number(rows[0]?.count ?? 0);
  });
}

const load: AutocannonOptions = { url: `${base}/jobs?limit=20`, connections: 10, overallRate: rate };

/** Starts the load and ends it when `until` resolves (or after `seconds`), resolving with its figures. */
function measure(until?: Promise<unknown>): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ ...load, duration: until ? 3600 : seconds }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
    void until?.then(() => instance.stop());
  });
}

function line(label: string, result: AutocannonResult): string {
  return `${label.padEnd(30)} ${format(result.requests.average).padStart(5)} req/s  p50 ${format(result.latency.p50, 2).padStart(6)} ms  p99 ${format(result.latency.p99, 2).padStart(6)} ms${result.non2xx + result.errors + result.timeouts ? `  (${format(result.non2xx + result.errors + result.timeouts)} failed)` : ''}`;
}

async function main(): Promise<void> {
  console.log(
    `trainer bench:retention: GET /jobs?limit=20 at ${rate} req/s over 10 connections, ${seconds} s per baseline; purge batch ${env.RETENTION_BATCH_SIZE}, pause ${env.RETENTION_PAUSE_MS} ms\n`,
  );
  // The worker migrates the database; its first scheduled purge runs at once and finds nothing.
  const worker = await startService('worker', { ...env, LOG_LEVEL: 'info' });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
  const queue = createRetentionQueue(redis, env.QUEUE_PREFIX);
  let api: { stop: () => Promise<void> } | undefined;
  try {
    const seeded = Date.now();
    await seed();
    console.log(
      `seeded ${format(expiredRuns)} expired and ${format(expiredRuns)} kept runs in ${format((Date.now() - seeded) / 1000, 1)} s`,
    );
    api = await startQuietApi({ ...env, LOG_LEVEL: 'warn' });
    await autocannon({ ...load, duration: 3 });
    const baseline = await measure();
    console.log(line('baseline (no purge)', baseline));
    const again = await measure();
    console.log(line('baseline again (noise)', again));

    const started = Date.now();
    await queue.add('purge', {});
    const done = (async () => {
      while ((await expiringLeft()) > 0) await new Promise((resolve) => setTimeout(resolve, 200));
    })();
    const during = await measure(done);
    const purgeSeconds = (Date.now() - started) / 1000;
    console.log(line('while the purge runs', during));

    const increase = (100 * (during.latency.p99 - baseline.latency.p99)) / baseline.latency.p99;
    const noise = (100 * (again.latency.p99 - baseline.latency.p99)) / baseline.latency.p99;
    // The worker logs each batch with the time it took (pino JSON, one line each).
    const batchMs = worker
      .log()
      .split('\n')
      .filter((entry) => entry.includes('retention: deleted a batch'))
      .map((entry) => Number((JSON.parse(entry) as { ms?: number }).ms ?? 0));
    const batches = batchMs.length;
    const meanBatchMs = batchMs.reduce((sum, ms) => sum + ms, 0) / Math.max(1, batches);
    console.log(
      `\npurge: ${format(expiredRuns)} runs in ${format(purgeSeconds, 1)} s = ${format(expiredRuns / purgeSeconds, 0)} runs/s (${format(batches)} batches)`,
    );
    console.log(
      `GET /jobs p99: ${format(baseline.latency.p99, 2)} ms without, ${format(during.latency.p99, 2)} ms during the purge: ${increase >= 0 ? '+' : ''}${format(increase, 1)}% (target < 10%: ${increase < 10 ? 'met' : 'MISSED'}); the two baselines differ by ${format(noise, 1)}%`,
    );
  } finally {
    await api?.stop();
    await queue.close();
    redis.disconnect();
    await worker.stop();
    await removeBenchData(env);
  }
}

await main();
