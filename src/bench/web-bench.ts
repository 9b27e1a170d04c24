// `npm run bench:web`: the dashboard in Debian's chromium against a real API process and database.
// 1. The runs page's first page with 10,000 runs in the database (rows inserted with SQL).
// 2. The run page of a finished run with a 1,000,000-step history, until its loss curve is drawn.
// 3. The live page with 20 running jobs whose charts get new steps every 250 ms (events published
//    through Redis, as workers do): main-thread long tasks (> 50 ms) seen by PerformanceObserver.
// Each figure is printed beside its target. `BENCH_WEB_ONLY=live` runs part 3 alone (no 10,000 runs or
// long history to write first), for iterating on the live page. `BENCH_WEB_TRACE=<file>` writes the
// live part's Chrome trace there, with paint and layout invalidations (it costs the page some CPU).
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { Browser, Page } from 'playwright-core';
import { createJobReads } from '../api/jobs/job-reads.js';
import { datasets } from '../domain/datasets.js';
import { dashboardHistoryPoints } from '../domain/history-points.js';
import { parseJobSpec } from '../domain/job-spec.js';
import { specParameterCount, totalSteps } from '../domain/model-shape.js';
import { createEventPublisher } from '../events/job-events.js';
import { createRedis } from '../queue/redis.js';
import { createPrismaClient, withConnection } from '../store/database.js';
import { createJobsRepository, type JobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import { chromiumMissing, launchChromium } from './browser.js';
import { benchSpec, createBenchJob, recordFinishedRun } from './networks.js';
import { benchEnv, format, startServices } from './services.js';

const mnist = datasets.mnist;
const runCount = 10_000;
const historySteps = Number(process.argv[2] ?? 1_000_000);
const liveCharts = 20;
const liveSeconds = 30;
const tickMs = 250;
const liveOnly = process.env.BENCH_WEB_ONLY === 'live';
const traceFile = process.env.BENCH_WEB_TRACE;
const invalidationCategories = [
  'disabled-by-default-devtools.timeline.invalidationTracking',
  'disabled-by-default-devtools.timeline.frame',
];

function verdict(label: string, met: boolean, detail: string): void {
  console.log(`  ${met ? 'met   ' : 'MISSED'}  ${label}: ${detail}`);
}

function storedSpec() {
  const parsed = parseJobSpec(benchSpec('mlp', 60_000, 10_000, 3), { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}

/** 10,000 finished runs, written with one INSERT: the API reads them as it reads any. */
async function insertRuns(databaseUrl: string): Promise<void> {
  const spec = storedSpec();
  await withConnection(databaseUrl, (client) =>
    client.query(
      `INSERT INTO jobs (id, name, dataset, spec, status, backend, parameter_count, epoch, step, total_steps,
                         attempts, tags, final_test_accuracy, best_test_accuracy, final_test_loss, duration_ms,
                         created_at, started_at, finished_at, updated_at)
       SELECT gen_random_uuid(), 'bench run ' || i, 'mnist', $1::jsonb, 'completed', 'wasm', $2, 3, $3, $3, 1,
              ARRAY['bench', 'batch-' || (i % 10)], 0.9 + random() * 0.08, 0.92 + random() * 0.07, random() * 0.3,
              60000 + (random() * 100000)::int, now() - i * interval '1 minute', now() - i * interval '1 minute',
              now() - i * interval '1 minute' + interval '1 minute', now()
       FROM generate_series(1, $4) AS i`,
      [JSON.stringify(spec), specParameterCount(spec, mnist), totalSteps(spec, mnist), runCount],
    ),
  );
}

/** A finished run with `steps` steps, written through the repository as a worker would. */
async function insertLongRun(jobs: JobsRepository, steps: number): Promise<string> {
  const epochs = 20;
  const { id } = await createBenchJob(
    jobs,
    { ...benchSpec('mlp', Math.ceil(steps / epochs), 1000, epochs), batchSize: 1 },
    steps,
  );
  await recordFinishedRun(jobs, id, { steps, epochs, noise: () => 0.1 * Math.random() });
  return id;
}

/** 20 jobs marked running, with no worker: the benchmark feeds their steps itself. */
async function insertRunningJobs(jobs: JobsRepository): Promise<string[]> {
  const parsed = parseJobSpec(benchSpec('mlp', 60_000, 1000, 3), { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const ids: string[] = [];
  for (let index = 0; index < liveCharts; index++) {
    const id = randomUUID();
    await jobs.create({
      id,
      spec: { ...parsed.spec, name: `live ${index + 1}` },
      parameterCount: 669_706,
      totalSteps: totalSteps(parsed.spec, mnist),
    });
    await jobs.claim(id, 'wasm', 600_000, randomUUID());
    ids.push(id);
  }
  return ids;
}

interface Load {
  /** From the start of navigation to the frame after the page was ready. */
  total: number;
  /** When the page asked the API for what it shows (`resource`), on the same clock. */
  asked: number;
  /** When that answer had arrived. */
  answered: number;
}

/** Loads `url` in a new tab until `ready` holds in the page; times it on the page's own clock. */
async function load(browser: Browser, url: string, ready: string, resource: string): Promise<Load> {
  // The probes below are strings evaluated in the page: the dashboard's CSP would refuse them.
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  try {
    // Checked in the page before every frame from the start, so the time is the frame that shows it,
    // on the page's own clock (no round trip to this process in it).
    await page.addInitScript(`(function check() {
      if (${ready}) window.readyAt = performance.now();
      else requestAnimationFrame(check);
    })()`);
    await page.goto(url);
    await page.waitForFunction('window.readyAt !== undefined', undefined, { timeout: 120_000 });
    return await page.evaluate<Load>(`(() => {
      const entry = performance.getEntriesByType('resource').find((one) => one.name.includes(${JSON.stringify(resource)}));
      return { total: window.readyAt, asked: entry?.startTime ?? NaN, answered: entry?.responseEnd ?? NaN };
    })()`);
  } finally {
    await page.close();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** One load's figures: total, when the page asked the API for `resource`, how long the answer took. */
const describeLoad = (one: Load, resource: string) =>
  `${format(one.total)} ms: asked the API (${resource}) at ${format(one.asked)} ms, answered at ${format(one.answered)} ms, drawn ${format(one.total - one.answered)} ms later`;

/**
 * Five loads, each in a fresh browser context; the first is also the API's first read of what the page
 * shows (its caches cold), printed on its own. The median of each figure over all five.
 */
async function benchLoad(
  browser: Browser,
  label: string,
  url: string,
  ready: string,
  resource: string,
): Promise<Load & { cold: Load }> {
  const loads: Load[] = [];
  for (let round = 0; round < 5; round++) loads.push(await load(browser, url, ready, resource));
  console.log(`${label}: ${loads.map((one) => format(one.total)).join(', ')} ms`);
  const result = {
    total: median(loads.map((one) => one.total)),
    asked: median(loads.map((one) => one.asked)),
    answered: median(loads.map((one) => one.answered)),
  };
  console.log(`  cold (first load, the API's caches cold) ${describeLoad(loads[0] as Load, resource)}`);
  console.log(`  median of the 5 loads ${describeLoad(result, resource)}`);
  return { ...result, cold: loads[0] as Load };
}

interface TaskFigures {
  /** Main-thread tasks over 50 ms of wall time, as PerformanceObserver('longtask') reports them. */
  longTasks: number[];
  /** The same tasks from a Chrome trace, by the CPU time the main thread spent in them. */
  cpuOver50: number;
  longestCpu: number;
  /** CPU time of the main thread per second. */
  cpuPerSecond: number;
}

interface TraceEvent {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/**
 * Long tasks in the page while `seconds` pass. A task's wall time includes the time the operating
 * system gave the CPU to other processes, so on a busy machine the trace's CPU time is printed too.
 */
async function watchTasks(browser: Browser, page: Page, seconds: number): Promise<TaskFigures> {
  // Browser code, as text: this file is compiled for Node, without the DOM's types.
  await page.evaluate(`
    window.longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longTasks.push(entry.duration);
    }).observe({ type: 'longtask' });
  `);
  await browser.startTracing(page, {
    categories: [
      'devtools.timeline',
      'disabled-by-default-devtools.timeline',
      ...(traceFile ? invalidationCategories : []),
    ],
  });
  await page.waitForTimeout(seconds * 1000);
  const traceText = (await browser.stopTracing()).toString();
  if (traceFile) writeFileSync(traceFile, traceText);
  const trace = JSON.parse(traceText) as { traceEvents: TraceEvent[] };
  const longTasks = await page.evaluate<number[]>('window.longTasks');
  const mainThreads = new Set(
    trace.traceEvents
      .filter((event) => event.ph === 'M' && event.name === 'thread_name' && event.args?.name === 'CrRendererMain')
      .map((event) => `${event.pid}:${event.tid}`),
  );
  const tasks = trace.traceEvents.filter(
    (event) => event.ph === 'X' && event.name === 'RunTask' && mainThreads.has(`${event.pid}:${event.tid}`),
  );
  const cpu = tasks.map((task) => (task.tdur ?? 0) / 1000);
  return {
    longTasks,
    cpuOver50: cpu.filter((ms) => ms > 50).length,
    longestCpu: Math.max(0, ...cpu),
    cpuPerSecond: cpu.reduce((sum, ms) => sum + ms, 0) / seconds,
  };
}

/** Publishes a batch of steps for every job every 250 ms, as workers do, until stopped. */
function feedSteps(redisUrl: string, prefix: string, ids: string[]) {
  const redis = createRedis(redisUrl, 'client');
  const publish = createEventPublisher(redis, prefix, () => undefined);
  let step = 0;
  const perTick = 25;
  const timer = setInterval(() => {
    for (const jobId of ids) {
      const steps = Array.from({ length: perTick }, (_, index) => {
        const current = step + index + 1;
        return { step: current, epoch: 1, loss: 2.3 / (1 + current / 500) + 0.1 * Math.random() };
      });
      publish({ type: 'steps', jobId, steps });
    }
    step += perTick;
  }, tickMs);
  return {
    steps: () => step,
    stop() {
      clearInterval(timer);
      redis.disconnect();
    },
  };
}

/** Parts 1 and 2: the runs page over 10,000 runs and the run page of a long history. */
async function benchLoads(browser: Browser, base: string, databaseUrl: string, jobs: JobsRepository) {
  let started = performance.now();
  await insertRuns(databaseUrl);
  console.log(`inserted ${format(runCount)} runs in ${format((performance.now() - started) / 1000, 1)} s`);
  started = performance.now();
  const longRun = await insertLongRun(jobs, historySteps);
  // Its sample for the run page, stored as the API stores it when a run ends (its history warmer), so
  // the first load below is what an API process that did not see the run end serves.
  await createJobReads(jobs).warm(longRun, dashboardHistoryPoints);
  console.log(`wrote a run of ${format(historySteps)} steps in ${format((performance.now() - started) / 1000, 1)} s\n`);

  const runsPage = await benchLoad(
    browser,
    'runs page, first page of 20 rows',
    `${base}/runs`,
    "document.querySelectorAll('table.runs tbody tr').length === 20",
    // GET /jobs with no filter carries no query string; the page's first request under /jobs is it.
    '/jobs',
  );
  const runPage = await benchLoad(
    browser,
    `run page, ${format(historySteps)}-step history drawn`,
    `${base}/runs/${longRun}`,
    `Number(document.querySelector('.loss-chart')?.getAttribute('data-last-step')) === ${historySteps} && document.querySelector('.loss-chart canvas') !== null`,
    '/history?',
  );
  return { runsPage, runPage };
}

const missing = chromiumMissing();
if (missing) {
  console.error(missing);
  process.exit(1);
}
const env = benchEnv('bench_web', 3900, { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
console.log('trainer bench:web: the dashboard in chromium against a real API and database');
await migrate(env.DATABASE_URL);
const prisma = createPrismaClient(env.DATABASE_URL);
const { base, stop } = await startServices(env, ['api']);
const browser = await launchChromium();
try {
  const jobs = createJobsRepository(prisma);
  const loads = liveOnly ? null : await benchLoads(browser, base, env.DATABASE_URL, jobs);

  const running = await insertRunningJobs(jobs);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, bypassCSP: true });
  await page.goto(`${base}/runs/live`);
  await page.waitForFunction(
    `document.querySelectorAll('.live-card [data-connection="live"]').length === ${liveCharts}`,
    undefined,
    { timeout: 30_000 },
  );
  const feed = feedSteps(env.REDIS_URL, env.QUEUE_PREFIX, running);
  const tasks = await watchTasks(browser, page, liveSeconds);
  feed.stop();
  const points = await page.evaluate<string[]>(
    "[...document.querySelectorAll('.live-card')].map((card) => card.querySelector('.small')?.textContent ?? '')",
  );
  // To look at: the cards as the feed left them (their curves thinned past the points a card holds).
  mkdirSync('test-output', { recursive: true });
  await page.screenshot({ path: 'test-output/bench-live.png' });
  await page.close();
  console.log(
    `live page: ${liveCharts} charts, ${format(feed.steps())} steps each over ${liveSeconds} s (a batch every ${tickMs} ms); e.g. "${points[0] ?? ''}"`,
  );
  const longest = Math.max(0, ...tasks.longTasks);
  console.log(
    `  long tasks (wall time): ${tasks.longTasks.length}, longest ${format(longest)} ms; by CPU time: ${tasks.cpuOver50} over 50 ms, longest ${format(tasks.longestCpu)} ms; main thread busy ${format(tasks.cpuPerSecond)} ms of CPU per second`,
  );
  console.log(
    `  load average during the run: ${os
      .loadavg()
      .map((value) => format(value, 1))
      .join(', ')} on ${os.cpus().length} cores\n`,
  );

  console.log('targets:');
  if (loads) {
    const { runsPage, runPage } = loads;
    verdict(
      'runs page with 10,000 runs shows its first page within 1 s',
      runsPage.total <= 1000,
      `median ${format(runsPage.total)} ms`,
    );
    verdict(
      `a ${format(historySteps)}-step run draws within 1 s`,
      runPage.total <= 1000,
      `median ${format(runPage.total)} ms, of which ${format(runPage.answered - runPage.asked)} ms waiting for GET /jobs/:id/history?points=2000 (cold first load ${format(runPage.cold.total)} ms, ${format(runPage.cold.answered - runPage.cold.asked)} ms waiting)`,
    );
  }
  verdict(
    `${liveCharts} live charts updating every ${tickMs} ms: no main-thread task over 50 ms`,
    longest <= 50,
    `${tasks.longTasks.length} long tasks by wall time, longest ${format(longest)} ms (by CPU time: ${tasks.cpuOver50}, longest ${format(tasks.longestCpu)} ms)`,
  );
} finally {
  await browser.close();
  await prisma.$disconnect();
  await stop();
}
