// `npm run bench:export [steps]`: a run of 1,000,000 steps (by default) written straight into the
// store, then read whole through HTTP from an API process: as JSON (GET /jobs/:id/history, the
// baseline), as CSV and as Parquet, each by an API process of its own. Prints MB/s of each body,
// each beside the JSON read's, and how far that API's RSS rose over idle while serving it, against
// the targets. Asserts nothing.
import { availableParallelism, loadavg } from 'node:os';
import { createPrismaClient } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { insertFinishedRun } from './long-runs.js';
import { threadCpuSeconds } from './thread-cpu.js';
import { baseUrl, benchEnv, format, procStatusBytes, removeBenchData, startService } from './services.js';

const stepCount = Number(process.argv[2] ?? 1_000_000);
const rounds = 3;
const targets = { csvMBps: 50, parquetMBps: 20, rssGrowthMB: 50 };
const rssBytes = (pid: number) => procStatusBytes(pid, 'VmRSS');

interface Read {
  bytes: number;
  ms: number;
  /** CPU seconds the API process spent answering: unlike wall time, hardly stretched by a busy machine. */
  apiCpu: number;
  /** The API's highest RSS while it answered, sampled every 5 ms. */
  peakRss: number;
}

/** Reads `url` to its end, counting bytes and keeping none, while sampling `pid`'s RSS. */
async function read(url: string, pid: number): Promise<Read> {
  let peakRss = rssBytes(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid))), 5);
  const started = performance.now();
  const cpuBefore = processCpuSeconds(pid);
  try {
    // Uncompressed, as curl asks by default: the figure is the server's, not gzip's.
    const response = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
    if (!response.ok || !response.body) throw new Error(`GET ${url} answered ${response.status}`);
    let bytes = 0;
    const reader = response.body.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) bytes += chunk.value.byteLength;
    return {
      bytes,
      ms: performance.now() - started,
      apiCpu: processCpuSeconds(pid) - cpuBefore,
      peakRss: Math.max(peakRss, rssBytes(pid)),
    };
  } finally {
    clearInterval(sampler);
  }
}

/** The median by time of `rounds` reads, and the highest RSS of any of them. */
async function measure(url: string, pid: number): Promise<Read> {
  const reads: Read[] = [];
  for (let round = 0; round < rounds; round++) reads.push(await read(url, pid));
  const median = [...reads].sort((a, b) => a.ms - b.ms)[Math.floor(rounds / 2)] as Read;
  return { ...median, peakRss: Math.max(...reads.map((one) => one.peakRss)) };
}

const mbPerSecond = (one: Read) => one.bytes / 1e6 / (one.ms / 1000);
const mbPerCpuSecond = (one: Read) => one.bytes / 1e6 / one.apiCpu;

/** CPU seconds of every thread of `pid` so far. */
const processCpuSeconds = (pid: number) =>
  [...threadCpuSeconds(pid).values()].reduce((sum, seconds) => sum + seconds, 0);

/** Starts an API, warms `path` on a small run, and measures reading it whole for the long run. */
async function measureFresh(env: ReturnType<typeof benchEnv>, ids: { long: string; small: string }, path: string) {
  // A process of its own for each format: memory a process took once is seldom given back, so one
  // format's growth would hide the next one's.
  const api = await startService('api', env);
  try {
    const pid = api.child.pid as number;
    const base = baseUrl(env);
    await read(`${base}/jobs/${ids.small}/${path}`, pid);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = rssBytes(pid);
    const measured = await measure(`${base}/jobs/${ids.long}/${path}`, pid);
    return { ...measured, growthMB: Math.max(0, measured.peakRss - idle) / 1e6, idleMB: idle / 1e6 };
  } finally {
    await api.stop();
  }
}

const env = benchEnv('bench_export', 3700);
console.log(`trainer bench:export: one run of ${format(stepCount)} steps read whole through HTTP, median of ${rounds}`);
// The first API migrates the database.
await (await startService('api', env)).stop();
const prisma = createPrismaClient(env.DATABASE_URL);
try {
  const jobs = createJobsRepository(prisma);
  const started = performance.now();
  const ids = { long: await insertFinishedRun(jobs, stepCount), small: await insertFinishedRun(jobs, 2000) };
  console.log(`wrote ${format(stepCount)} steps in ${format((performance.now() - started) / 1000, 1)} s\n`);
  const json = await measureFresh(env, ids, 'history');
  const csv = await measureFresh(env, ids, 'history.csv');
  const parquet = await measureFresh(env, ids, 'history.parquet');
  const verdict = (ok: boolean) => (ok ? 'meets' : 'MISSES');
  const line = (label: string, one: typeof json, target: string) =>
    console.log(
      `${label.padEnd(30)} ${format(one.bytes / 1e6, 1).padStart(6)} MB in ${format(one.ms / 1000, 2).padStart(5)} s = ` +
        `${format(mbPerSecond(one), 1).padStart(6)} MB/s (${format(mbPerSecond(one) / mbPerSecond(json), 2)} x JSON), ` +
        `${format(stepCount / (one.ms / 1000) / 1e6, 2)} M steps/s, ${format(mbPerCpuSecond(one), 1)} MB per API CPU second; RSS ${format(one.idleMB, 0)} MB idle, +${format(one.growthMB, 1)} MB   ${target}`,
    );
  line('GET /jobs/:id/history (JSON)', json, '(baseline)');
  line(
    'GET /jobs/:id/history.csv',
    csv,
    `target >= ${targets.csvMBps} MB/s: ${verdict(mbPerSecond(csv) >= targets.csvMBps)}; RSS < +${targets.rssGrowthMB} MB: ${verdict(csv.growthMB < targets.rssGrowthMB)}`,
  );
  line(
    'GET /jobs/:id/history.parquet',
    parquet,
    `target >= ${targets.parquetMBps} MB/s: ${verdict(mbPerSecond(parquet) >= targets.parquetMBps)}; RSS < +${targets.rssGrowthMB} MB: ${verdict(parquet.growthMB < targets.rssGrowthMB)}`,
  );
  console.log(
    `\nthe Parquet file is ${format((parquet.bytes / csv.bytes) * 100, 1)}% of the CSV's size; as CSV-equivalent bytes it streams ` +
      `${format(csv.bytes / 1e6 / (parquet.ms / 1000), 1)} MB/s. Load average now: ${loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')} on ${availableParallelism()} cores`,
  );
} finally {
  await prisma.$disconnect();
  await removeBenchData(env);
}
