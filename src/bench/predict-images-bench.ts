// `npm run bench:predict-images [-- --rounds 3 --seconds 10 --clients 4 --baseline <checkout>/dist/main/api.js]`:
// whether image predictions starve the rest of the API. An API process of its own (2 inference
// threads, one decoder thread) serves a stored 784-512-512-10 model; this process measures GET /jobs/:id
// and one of the dashboard's files at a steady rate (open loop), for `seconds` alone, then for
// `seconds` while `clients` clients each send, over and over, the largest image request
// PREDICT_MAX_DECODED_BYTES allows (one 4096x4096 16-bit RGBA PNG: 128 MiB decoded), `rounds` times.
// Prints p50/p99/max of both phases, the API's event-loop delay, the image requests' latency, the
// API's peak RSS, and what a request over the limit gets. With --baseline, another build's API (e.g.
// one that decodes with sharp on libuv's pool) runs beside it and the two take turns, so both meet
// the same weather on a shared machine.
import http from 'node:http';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { createPrismaClient } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { openLoopLatencies } from './open-loop.js';
import { percentile, verdict } from './predict-fixtures.js';
import { storeModels } from './predict-http-bench.js';
import {
  baseUrl,
  benchArtifactStore,
  benchEnv,
  format,
  procStatusBytes,
  removeBenchData,
  startService,
  type BenchEnv,
} from './services.js';

const { values: options } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    clients: { type: 'string', default: '4' },
    baseline: { type: 'string' },
  },
});
const seconds = Number(options.seconds);
const clients = Number(options.clients);
const rounds = Number(options.rounds);
const jobRate = 20;
const fileRate = 10;

/** A 4096x4096 16-bit RGBA PNG of a dark "7" on white paper: exactly 128 MiB once decoded. */
async function largestImage(): Promise<string> {
  const seven = `<svg xmlns="http://www.w3.org/2000/svg" width="4096" height="4096">
    <path d="M 1100 900 L 3000 900 L 1700 3400" stroke="#202020" stroke-width="320" fill="none"/></svg>`;
  const png = await sharp({ create: { width: 4096, height: 4096, channels: 4, background: '#f4f1ea' } })
    .composite([{ input: Buffer.from(seven) }])
    // rgb16 keeps the alpha channel: 16-bit RGBA. Filtered rows, as most encoders write them.
    .toColourspace('rgb16')
    .png({ adaptiveFiltering: true })
    .toBuffer();
  return png.toString('base64');
}

interface Answer {
  status: number;
  ms: number;
}

/** Requests over keep-alive connections of their own, each answered with its status and latency. */
function client(base: string, maxSockets: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const request = (path: string, body?: string, headers: http.OutgoingHttpHeaders = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const sent = http.request(
        `${base}${path}`,
        {
          method: body === undefined ? 'GET' : 'POST',
          agent,
          headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }));
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
  return Object.assign(request, { close: () => agent.destroy() });
}

type Client = ReturnType<typeof client>;

/** GET /jobs/:id and the dashboard file at their steady rates for `seconds`; latencies of each. */
async function probe(reads: Client, jobId: string, file: string) {
  const expectOk = async (answer: Promise<Answer>) => {
    const { status } = await answer;
    if (status !== 200) throw new Error(`a probe answered ${status}`);
  };
  const [job, dashboard] = await Promise.all([
    openLoopLatencies(jobRate, seconds, () => expectOk(reads(`/jobs/${jobId}`))),
    openLoopLatencies(fileRate, seconds, () => expectOk(reads(file, undefined, { 'accept-encoding': 'br, gzip' }))),
  ]);
  return { job, dashboard };
}

/**
 * The API's event-loop delay p99 and max since the last call, in ms, from its GET /metrics (prom-client
 * measures the delay and starts afresh at every scrape); null when the API serves no metrics.
 */
async function eventLoopDelay(base: string): Promise<{ p99: number; max: number } | null> {
  const response = await fetch(`${base}/metrics`);
  if (!response.ok) return null;
  const text = await response.text();
  // Series carry labels (process="api").
  const seconds = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    p99: seconds('nodejs_eventloop_lag_p99_seconds') * 1000,
    max: seconds('nodejs_eventloop_lag_max_seconds') * 1000,
  };
}

const delayText = (delay: { p99: number; max: number } | null) =>
  delay ? `p99 ${format(delay.p99, 1)} ms, max ${format(delay.max, 1)} ms` : 'not measured';

/** `clients` closed loops of the image request until `stop` is called; its answers so far. */
function imageLoad(images: Client, jobId: string, body: string) {
  let stopped = false;
  const answers: Answer[] = [];
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) answers.push(await images(`/jobs/${jobId}/predict`, body));
  });
  return {
    answers,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

const row = (label: string, latencies: number[]) =>
  `  ${label.padEnd(40)} p50 ${format(percentile(latencies, 0.5), 1).padStart(8)} ms   p99 ${format(percentile(latencies, 0.99), 1).padStart(8)} ms   max ${format(Math.max(...latencies), 1).padStart(8)} ms`;

/** One build's API, started and warmed (its model loaded, its decoder started). */
async function startBuild(label: string, script: string | undefined, env: BenchEnv, jobId: string, body: string) {
  const api = await startService('api', env, script);
  const base = baseUrl(env);
  const reads = client(base, 16);
  const images = client(base, clients + 1);
  const html = await (await fetch(`${base}/`)).text();
  const file = /\/assets\/[^"]+\.js/.exec(html)?.[0];
  if (!file) throw new Error(`${label} serves no dashboard: build it first`);
  const warm = await images(`/jobs/${jobId}/predict`, body);
  console.log(`${label}: one image request alone, model load included: ${warm.status} in ${format(warm.ms)} ms`);
  const windows = { alone: [] as Window[], loaded: [] as Window[] };
  const stop = async () => {
    reads.close();
    images.close();
    await api.stop();
  };
  return { label, api, base, reads, images, file, windows, stop };
}

type Build = Awaited<ReturnType<typeof startBuild>>;

interface Window {
  job: number[];
  dashboard: number[];
  delay: { p99: number; max: number } | null;
  answers: Answer[];
}

/** One window of probing a build, alone or under the image load (drained before it returns). */
async function window(build: Build, jobId: string, body: string, loaded: boolean): Promise<Window> {
  await eventLoopDelay(build.base);
  const load = loaded ? imageLoad(build.images, jobId, body) : null;
  const { job, dashboard } = await probe(build.reads, jobId, build.file);
  const delay = await eventLoopDelay(build.base);
  await load?.stop();
  return { job, dashboard, delay, answers: load?.answers ?? [] };
}

function report(build: Build): number {
  const all = (windows: Window[], pick: (window: Window) => number[]) => windows.flatMap(pick);
  const { alone, loaded } = build.windows;
  const answers = loaded.flatMap((window) => window.answers);
  const statuses = [...new Set(answers.map((answer) => answer.status))].join(', ');
  console.log(`\n${build.label}, ${alone.length} rounds:`);
  console.log(
    row(
      'GET /jobs/:id alone',
      all(alone, (window) => window.job),
    ),
  );
  console.log(
    row(
      `GET /jobs/:id, ${clients} image clients`,
      all(loaded, (window) => window.job),
    ),
  );
  console.log(
    row(
      'dashboard file alone',
      all(alone, (window) => window.dashboard),
    ),
  );
  console.log(
    row(
      `dashboard file, ${clients} image clients`,
      all(loaded, (window) => window.dashboard),
    ),
  );
  const roundP99 = (windows: Window[]) => windows.map((window) => format(percentile(window.job, 0.99), 1)).join(' / ');
  console.log(`  GET /jobs/:id p99 by round: alone ${roundP99(alone)} ms; loaded ${roundP99(loaded)} ms`);
  const delays = (windows: Window[]) => windows.map((window) => delayText(window.delay)).join(' | ');
  console.log(`  event-loop delay alone: ${delays(alone)}`);
  console.log(`  event-loop delay loaded: ${delays(loaded)}`);
  const latency = percentile(
    answers.map((answer) => answer.ms),
    0.5,
  );
  console.log(
    `  image requests: ${answers.length} answered (${statuses}), p50 ${format(latency)} ms; ` +
      `API peak RSS ${format(procStatusBytes(build.api.child.pid as number, 'VmHWM') / 1024 ** 2)} MiB`,
  );
  return percentile(
    all(loaded, (window) => window.job),
    0.99,
  );
}

const env = benchEnv('bench_predict_images', 3800, { PREDICT_THREADS: '2' });
console.log(
  `trainer bench:predict-images: GET /jobs/:id (${jobRate}/s) and a dashboard file (${fileRate}/s), ${rounds} rounds of ` +
    `${seconds} s alone then ${seconds} s with ${clients} clients sending the largest allowed image over and over ` +
    `(4096x4096 16-bit RGBA, 128 MiB decoded); with --baseline, the builds take turns`,
);
await migrate(env.DATABASE_URL);
const prisma = createPrismaClient(env.DATABASE_URL);
const builds: Build[] = [];
try {
  const [jobId = ''] = await storeModels(prisma, benchArtifactStore(env, prisma), 1);
  const image = await largestImage();
  const body = JSON.stringify({ images: [image] });
  console.log(
    `the image: ${format((image.length * 3) / 4 / 1024)} KiB as PNG, ${format(image.length / 1024)} KiB of base64`,
  );
  if (options.baseline)
    builds.push(
      await startBuild('baseline build', options.baseline, { ...env, PORT: String(Number(env.PORT) + 1) }, jobId, body),
    );
  builds.push(await startBuild('this build', undefined, env, jobId, body));
  for (let round = 1; round <= rounds; round++)
    for (const build of builds) {
      build.windows.alone.push(await window(build, jobId, body, false));
      build.windows.loaded.push(await window(build, jobId, body, true));
      console.log(`round ${round} of ${rounds}: ${build.label} measured`);
    }
  const thisBuild = builds.at(-1) as Build;
  for (const build of builds) report(build);
  const twice = await thisBuild.images(`/jobs/${jobId}/predict`, JSON.stringify({ images: [image, image] }));
  console.log(`\nthis build, two such images in one request: ${twice.status} in ${format(twice.ms, 1)} ms`);
  const p99 = percentile(
    thisBuild.windows.loaded.flatMap((window) => window.job),
    0.99,
  );
  const aloneP99 = percentile(
    thisBuild.windows.alone.flatMap((window) => window.job),
    0.99,
  );
  console.log('targets:');
  verdict(
    'GET /jobs/:id p99 < 100 ms under the image load',
    p99 < 100,
    `${format(p99, 1)} ms (alone ${format(aloneP99, 1)} ms)`,
  );
  verdict('the images refused beyond the limit', twice.status === 413, `${twice.status}`);
} finally {
  for (const build of builds) await build.stop();
  await prisma.$disconnect();
  await removeBenchData(env);
}
