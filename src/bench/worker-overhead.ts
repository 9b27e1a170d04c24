// bench:train's worker overhead: with two jobs training, the CPU a worker process spends on anything
// but its training threads (its event loop, GC, Postgres and Redis clients, helpers), from /proc.
import os from 'node:os';
import { benchSpec } from './networks.js';
import { benchEnv, format, startServices, submitJob, type Service } from './services.js';
import { cpuBetween, threadCpuSeconds } from './thread-cpu.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The training threads' Linux ids, as the worker logged them when they were ready. */
function trainingThreadIds(worker: Service): number[] {
  const line = worker
    .log()
    .split('\n')
    .find((entry) => entry.includes('training threads ready'));
  if (!line) throw new Error('the worker did not log its training threads');
  return (JSON.parse(line) as { trainingThreadIds?: number[] }).trainingThreadIds ?? [];
}

async function stepOf(base: string, id: string): Promise<number> {
  const job = (await (await fetch(`${base}/jobs/${id}`)).json()) as { progress: { step: number } };
  return job.progress.step;
}

export interface WorkerOverhead {
  /** Cores the training threads used, and everything else in the worker process. */
  trainingCores: number;
  otherCores: number;
}

/**
 * Measures a worker (WORKER_CONCURRENCY=2) over `seconds` while two jobs train, and prints the
 * split; the jobs are cancelled afterwards.
 */
export async function workerOverhead(seconds = 20): Promise<WorkerOverhead> {
  console.log(`\n== The worker's own CPU with two jobs training (784-512-512-10, ${seconds} s, from /proc) ==`);
  const env = benchEnv('overhead', 3950, { WORKER_CONCURRENCY: '2' });
  const { base, worker, stop } = await startServices(env, ['api', 'worker']);
  try {
    const training = new Set(trainingThreadIds(worker));
    const ids = await Promise.all([0, 1].map(() => submitJob(base, benchSpec('mlp', 60_000, 1000, 5))));
    // Both jobs past their set-up and first steps.
    while ((await Promise.all(ids.map((id) => stepOf(base, id)))).some((step) => step < 50)) await sleep(200);
    const pid = worker.child.pid as number;
    const [before, started, load] = [threadCpuSeconds(pid), performance.now(), os.loadavg()[0] ?? 0];
    await sleep(seconds * 1000);
    const used = cpuBetween(before, threadCpuSeconds(pid));
    const wall = (performance.now() - started) / 1000;
    await Promise.all(ids.map((id) => fetch(`${base}/jobs/${id}/cancel`, { method: 'POST' })));
    const sum = (threads: [number, number][]) => threads.reduce((total, [, cpu]) => total + cpu, 0);
    const trainingCores = sum([...used].filter(([thread]) => training.has(thread))) / wall;
    const others = [...used].filter(([thread]) => !training.has(thread)).sort((a, b) => b[1] - a[1]);
    const otherCores = sum(others) / wall;
    console.log(`load average ${format(load, 2)}; training threads ${[...training].join(', ')}`);
    console.log(`training threads: ${format(trainingCores * 100, 1)}% of a core (two jobs)`);
    console.log(
      `everything else:  ${format(otherCores * 100, 1)}% of a core; ${format((otherCores / trainingCores) * 100, 1)}% of the training threads' CPU, so ${format((otherCores / trainingCores) * 200, 1)}% of a core when the two jobs have a core each`,
    );
    const busiest = others.slice(0, 4).map(([thread, cpu]) => `${thread} ${format((cpu / wall) * 100, 1)}%`);
    console.log(`busiest other threads: ${busiest.join(', ')}`);
    return { trainingCores, otherCores };
  } finally {
    await stop();
  }
}
