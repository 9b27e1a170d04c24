// npm run bench:scale: the API and 1, 2, 4 and 8 worker processes against one Postgres and Redis,
// training tiny batch-1 jobs (the most steps per second a worker can write). For each count it
// prints the steps written per second, the step-to-WebSocket latency p99 (from a step batch's
// commit in a worker to its delivery to the API's WebSocket clients: the API's own
// trainer_event_lag_seconds histogram) and the CPU Postgres, the API and the workers spent per
// 1,000 steps, so the first bottleneck as workers grow is known.
//
// Options (environment): SCALE_WORKERS (default "1,2,4,8"), SCALE_WINDOW_MS (default 10000),
// SCALE_WARMUP_MS (default 3000).
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import WebSocket from 'ws';
import { createPrismaClient } from '../store/database.js';
import { benchEnv, format, removeBenchData, startService, submitJob, type Service } from './services.js';

const ticksPerSecond = 100;
const workerCounts = (process.env.SCALE_WORKERS ?? '1,2,4,8').split(',').map(Number);
const windowMs = Number(process.env.SCALE_WINDOW_MS ?? 10_000);
const warmupMs = Number(process.env.SCALE_WARMUP_MS ?? 3000);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds (user + system) of a process, or 0 once it is gone. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/**
 * CPU seconds of the Postgres processes that work for this benchmark: the backends connected to its
 * database, and the server's own background processes (WAL writer, checkpointer, ...), which other
 * users of the same server share; by pid, so a backend that exits between readings is not lost.
 */
function postgresCpu(database: string): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      // A client backend names its user, database and client address; the background processes
      // (checkpointer, walwriter, ...) name only their job.
      const backend = /\d\(\d+\)|\[local\]/.test(command);
      if (backend && !command.includes(` ${database} `)) continue;
      seconds.set(Number(entry), processCpuSeconds(Number(entry)));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return seconds;
}

const spent = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((sum, [pid, seconds]) => sum + seconds - (before.get(pid) ?? 0), 0);

/** The API's event-lag histogram: cumulative counts by upper bound (seconds). */
async function lagHistogram(base: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const match of text.matchAll(/^trainer_event_lag_seconds_bucket\{le="([^"]+)"[^}]*\} (\d+)/gm)) {
    buckets.set(match[1] === '+Inf' ? Infinity : Number(match[1]), Number(match[2]));
  }
  return buckets;
}

/** The q-quantile of the observations between two readings, interpolated inside its bucket. */
function quantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((bound) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if ((counts[i] as number) >= rank) {
      const lower = i === 0 ? 0 : (bounds[i - 1] as number);
      const upper = bounds[i] as number;
      if (upper === Infinity) return lower;
      const below = i === 0 ? 0 : (counts[i - 1] as number);
      return lower + ((upper - lower) * (rank - below)) / Math.max(1, (counts[i] as number) - below);
    }
  }
  return NaN;
}

/**
 * A job that writes as many steps as it can: batch 1 on a tiny network, long enough to outlast the
 * window. Epochs of the whole training set, so the window measures steps, not the per-epoch work
 * (test pass, kept checkpoint, best model), which short epochs make the bottleneck instead.
 */
const tinySpec = (index: number) => ({
  name: `scale-${index}`,
  dataset: 'mnist',
  trainSamples: 60_000,
  testSamples: 100,
  epochs: 10,
  batchSize: 1,
  learningRate: 0.01,
  model: {
    layers: [
      { type: 'dense', units: 8, activation: 'relu' },
      { type: 'dense', units: 10 },
    ],
  },
});

/** Follows a job's live stream, as a dashboard does, so the API delivers (and times) its steps. */
function watch(base: string, jobId: string): WebSocket {
  const socket = new WebSocket(`${base.replace('http', 'ws')}/jobs/${jobId}/events`);
  socket.on('error', () => undefined);
  return socket;
}

interface Row {
  workers: number;
  stepsPerSecond: number;
  lagP50Ms: number;
  lagP99Ms: number;
  postgresCpuPer1000: number;
  apiCpuPer1000: number;
  workerCpuPer1000: number;
  machineBusy: number;
}

async function measure(workers: number, port: number): Promise<Row> {
  const env = benchEnv(`scale${workers}`, port, {
    WORKER_CONCURRENCY: '1',
    LOG_LEVEL: 'warn',
    RECONCILE_INTERVAL_MS: '30000',
  });
  const api = await startService('api', { ...env, LOG_LEVEL: 'info' });
  const started: Service[] = [api];
  const base = `http://127.0.0.1:${env.PORT}`;
  const prisma = createPrismaClient(env.DATABASE_URL);
  const sockets: WebSocket[] = [];
  try {
    for (let i = 0; i < workers; i++) started.push(await startService('worker', { ...env, LOG_LEVEL: 'info' }));
    const ids: string[] = [];
    for (let i = 0; i < workers; i++) {
      const id = await submitJob(base, tinySpec(i));
      ids.push(id);
      sockets.push(watch(base, id));
    }
    await sleep(warmupMs);
    const database = new URL(env.DATABASE_URL).pathname.slice(1);
    const stepsOf = async () =>
      Number((await prisma.job.aggregate({ _sum: { step: true }, where: { id: { in: ids } } }))._sum.step ?? 0);
    const machine = () => os.cpus().reduce((sum, cpu) => sum + cpu.times.user + cpu.times.sys + cpu.times.irq, 0);
    const machineIdle = () => os.cpus().reduce((sum, cpu) => sum + cpu.times.idle, 0);
    const reading = async () => ({
      steps: await stepsOf(),
      lag: await lagHistogram(base),
      postgres: postgresCpu(database),
      api: processCpuSeconds(api.child.pid as number),
      workers: started.slice(1).map((worker) => processCpuSeconds(worker.child.pid as number)),
      busy: machine(),
      idle: machineIdle(),
      at: performance.now(),
    });
    const before = await reading();
    await sleep(windowMs);
    const after = await reading();
    const steps = after.steps - before.steps;
    const per1000 = (seconds: number) => (steps > 0 ? (seconds / steps) * 1000 : NaN);
    const workerSeconds = after.workers.reduce((sum, seconds, i) => sum + seconds - (before.workers[i] ?? 0), 0);
    const busy = after.busy - before.busy;
    return {
      workers,
      stepsPerSecond: steps / ((after.at - before.at) / 1000),
      lagP50Ms: quantile(before.lag, after.lag, 0.5) * 1000,
      lagP99Ms: quantile(before.lag, after.lag, 0.99) * 1000,
      postgresCpuPer1000: per1000(spent(before.postgres, after.postgres)),
      apiCpuPer1000: per1000(after.api - before.api),
      workerCpuPer1000: per1000(workerSeconds),
      machineBusy: busy / (busy + after.idle - before.idle),
    };
  } finally {
    for (const socket of sockets) socket.terminate();
    await prisma.$disconnect();
    for (const service of started.reverse()) await service.stop();
    await removeBenchData(env);
  }
}

async function main() {
  console.log(
    `bench:scale: one API, N workers (one job each), tiny batch-1 jobs; ${windowMs / 1000} s measured after ${warmupMs / 1000} s; ${os.availableParallelism()} cores`,
  );
  const rows: Row[] = [];
  for (const workers of workerCounts) {
    const row = await measure(workers, 3600);
    rows.push(row);
    console.log(
      [
        `workers ${String(workers).padStart(2)}`,
        `steps/s ${format(row.stepsPerSecond).padStart(7)}`,
        `(${(row.stepsPerSecond / (rows[0] as Row).stepsPerSecond).toFixed(2)}x of 1 worker)`,
        `lag p50 ${format(row.lagP50Ms, 1)} ms p99 ${format(row.lagP99Ms, 1)} ms`,
        `CPU s per 1,000 steps: postgres ${row.postgresCpuPer1000.toFixed(3)} api ${row.apiCpuPer1000.toFixed(3)} workers ${row.workerCpuPer1000.toFixed(3)}`,
        `machine busy ${(row.machineBusy * 100).toFixed(0)}%`,
      ].join('  '),
    );
  }
  const best = rows.reduce((a, b) => (b.stepsPerSecond > a.stepsPerSecond ? b : a));
  const postgresCosts = rows.map((row) => row.postgresCpuPer1000).filter(Number.isFinite);
  const postgresPer1000 = postgresCosts.length > 0 ? Math.max(...postgresCosts) : NaN;
  console.log(
    `most steps/s: ${format(best.stepsPerSecond)} with ${best.workers} workers; at ${postgresPer1000.toFixed(3)} CPU s per 1,000 steps, one Postgres core takes about ${format(1000 / postgresPer1000)} steps/s`,
  );
}

await main();
