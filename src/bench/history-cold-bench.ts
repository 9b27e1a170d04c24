// `node dist/bench/history-cold-bench.js [--steps N] [--rounds N] [--baseline path/to/dist/main/api.js]`:
// the first GET /jobs/:id/history?points=<the dashboard's> of a finished run of N steps (1,000,000)
// from a freshly started API process, whose cache is empty. Each round starts, in turn: the baseline
// build's API, if given (another checkout's dist/main/api.js, on the same database); this build's
// with no stored sample of the run (it computes the sample and stores it); this build's again (it
// reads the stored sample). Prints each read's wall time and the API process's CPU time, their
// medians, and whether every answer was the same bytes. Asserts nothing.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dashboardHistoryPoints } from '../domain/history-points.js';
import { createPrismaClient } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import { benchSpec, createBenchJob, recordFinishedRun } from './networks.js';
import { baseUrl, benchEnv, format, removeBenchData } from './services.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '5' },
    baseline: { type: 'string' },
  },
});
const stepCount = Number(values.steps);
const rounds = Number(values.rounds);
const thisApi = path.join(path.dirname(fileURLToPath(import.meta.url)), '../main/api.js');

/** CPU time (user + system) a process has used so far, in ms, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Starts an API process from `entry` on `env`; resolves once it listens, with a way to stop it. */
function startApi(entry: string, env: NodeJS.ProcessEnv): Promise<{ pid: number; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const stop = () =>
      new Promise<void>((done) =>
        child.exitCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM')),
      );
    child.stdout.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/api listening/.test(log)) resolve({ pid: child.pid as number, stop });
    });
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`api exited with ${code}:\n${log}`)));
  });
}

interface Read {
  ms: number;
  cpu: number;
  body: string;
}

const env = benchEnv('bench_history_cold', 4000);
console.log(
  `trainer bench:history-cold: first read of a ${format(stepCount)}-step run's history by a fresh API process`,
);
await migrate(env.DATABASE_URL);
const prisma = createPrismaClient(env.DATABASE_URL);
try {
  const jobs = createJobsRepository(prisma);
  const epochs = 20;
  const { id } = await createBenchJob(
    jobs,
    { ...benchSpec('mlp', Math.ceil(stepCount / epochs), 1000, epochs), batchSize: 1 },
    stepCount,
  );
  await recordFinishedRun(jobs, id, { steps: stepCount, epochs, noise: () => 0.1 * Math.random() });
  const base = baseUrl(env);

  /** One fresh API process: the run page's first request (the job), then the timed history read. */
  async function coldRead(entry: string): Promise<Read> {
    const api = await startApi(entry, env);
    try {
      await (await fetch(`${base}/jobs/${id}`)).arrayBuffer();
      const cpuBefore = cpuMs(api.pid);
      const started = performance.now();
      const body = await (await fetch(`${base}/jobs/${id}/history?points=${dashboardHistoryPoints}`)).text();
      return { ms: performance.now() - started, cpu: cpuMs(api.pid) - cpuBefore, body };
    } finally {
      await api.stop();
    }
  }

  const variants = [
    ...(values.baseline ? [{ label: 'baseline build', entry: values.baseline, unstored: false }] : []),
    { label: 'this build, no stored sample', entry: thisApi, unstored: true },
    { label: 'this build, sample stored', entry: thisApi, unstored: false },
  ];
  const reads = variants.map((): Read[] => []);
  for (let round = 0; round < rounds; round++) {
    for (const [index, variant] of variants.entries()) {
      if (variant.unstored) await prisma.$executeRaw`DELETE FROM history_samples WHERE job_id = ${id}::uuid`;
      const read = await coldRead(variant.entry);
      (reads[index] as Read[]).push(read);
      console.log(
        `round ${round + 1} ${variant.label.padEnd(30)} ${format(read.ms, 1).padStart(8)} ms wall ${format(read.cpu).padStart(6)} ms API CPU`,
      );
    }
  }
  const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] ?? NaN;
  console.log(`\nmedians of ${rounds} rounds:`);
  for (const [index, variant] of variants.entries()) {
    const all = reads[index] as Read[];
    console.log(
      `  ${variant.label.padEnd(30)} ${format(median(all.map((one) => one.ms)), 1).padStart(8)} ms wall ${format(median(all.map((one) => one.cpu))).padStart(6)} ms API CPU`,
    );
  }
  const bodies = new Set(reads.flat().map((one) => one.body));
  console.log(`every answer the same bytes: ${bodies.size === 1 ? 'yes' : `no (${bodies.size} different)`}`);
} finally {
  await prisma.$disconnect();
  await removeBenchData(env);
}
