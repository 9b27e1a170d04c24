// `npm run bench:predict-images [-- --seconds 15 --clients 4 --baseline <other checkout>/dist/main/api.js]`:
// whether image predictions starve the rest of the API. An API process of its own (2 inference
// threads, its default decoder thread) serves a stored 784-512-512-10 model; this process measures GET /jobs/:id and one of the
// dashboard's files at a steady rate (open loop), first alone, then while `clients` clients each send,
// over and over, the largest image request PREDICT_MAX_DECODED_BYTES allows (one 4096x4096 16-bit
// RGBA PNG: 128 MiB decoded). Prints p50/p99/max of both phases, the image requests' latency, the
// API's peak RSS, and how fast a request over the limit is refused. With --baseline, another build's
// API (e.g. one that decodes with sharp on libuv's pool) is measured the same way first.
import http from 'node:http';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { createPrismaClient } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { openLoopLatencies } from './open-loop.js';
import { percentile, verdict } from './predict-fixtures.js';
import { storeModels } from './predict-http-bench.js';
import { baseUrl, benchEnv, format, procStatusBytes, removeBenchData, startService } from './services.js';

const { values: options } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '4' },
    baseline: { type: 'string' },
  },
});
const seconds = Number(options.seconds);
const clients = Number(options.clients);
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
  `  ${label.padEnd(44)} p50 ${format(percentile(latencies, 0.5), 1).padStart(8)} ms   p99 ${format(percentile(latencies, 0.99), 1).padStart(8)} ms   max ${format(Math.max(...latencies), 1).padStart(8)} ms`;

async function measure(
  label: string,
  script: string | undefined,
  env: ReturnType<typeof benchEnv>,
  jobId: string,
  image: string,
) {
  console.log(`\n${label}:`);
  const api = await startService('api', env, script);
  const base = baseUrl(env);
  const reads = client(base, 16);
  const images = client(base, clients + 1);
  try {
    const html = await (await fetch(`${base}/`)).text();
    const file = /\/assets\/[^"]+\.js/.exec(html)?.[0];
    if (!file) throw new Error('the API serves no dashboard: run `npm run build` first');
    const body = JSON.stringify({ images: [image] });
    const warm = await images(`/jobs/${jobId}/predict`, body);
    console.log(`  one image request alone (model load included): ${warm.status} in ${format(warm.ms)} ms`);
    await eventLoopDelay(base);
    const alone = await probe(reads, jobId, file);
    const aloneDelay = await eventLoopDelay(base);
    const load = imageLoad(images, jobId, body);
    const loaded = await probe(reads, jobId, file);
    const loadedDelay = await eventLoopDelay(base);
    await load.stop();
    const statuses = [...new Set(load.answers.map((answer) => answer.status))].join(', ');
    console.log(row('GET /jobs/:id alone', alone.job));
    console.log(row(`GET /jobs/:id with ${clients} image clients`, loaded.job));
    console.log(row(`GET ${file.slice(0, 20)}… alone`, alone.dashboard));
    console.log(row(`GET ${file.slice(0, 20)}… with ${clients} image clients`, loaded.dashboard));
    console.log(
      `  image requests: ${load.answers.length} answered (${statuses}), p50 ${format(
        percentile(
          load.answers.map((answer) => answer.ms),
          0.5,
        ),
      )} ms; API peak RSS ${format(procStatusBytes(api.child.pid as number, 'VmHWM') / 1024 ** 2)} MiB`,
    );
    console.log(
      `  the API's event-loop delay: alone ${delayText(aloneDelay)}; with the image clients ${delayText(loadedDelay)}`,
    );
    const twice = await images(`/jobs/${jobId}/predict`, JSON.stringify({ images: [image, image] }));
    console.log(`  two such images in one request: ${twice.status} in ${format(twice.ms, 1)} ms`);
    return { alone, loaded };
  } finally {
    reads.close();
    images.close();
    await api.stop();
  }
}

const env = benchEnv('bench_predict_images', 3800, { PREDICT_THREADS: '2' });
console.log(
  `trainer bench:predict-images: GET /jobs/:id (${jobRate}/s) and a dashboard file (${fileRate}/s) for ${seconds} s, ` +
    `alone and with ${clients} clients sending the largest allowed image (4096x4096 16-bit RGBA, 128 MiB decoded)`,
);
await migrate(env.DATABASE_URL);
const prisma = createPrismaClient(env.DATABASE_URL);
try {
  const [jobId = ''] = await storeModels(prisma, 1);
  const image = await largestImage();
  console.log(
    `the image: ${format((image.length * 3) / 4 / 1024)} KiB as PNG, ${format(image.length / 1024)} KiB of base64`,
  );
  if (options.baseline) await measure(`baseline build (${options.baseline})`, options.baseline, env, jobId, image);
  const { alone, loaded } = await measure('this build', undefined, env, jobId, image);
  const p99 = percentile(loaded.job, 0.99);
  console.log('  targets:');
  verdict(
    'GET /jobs/:id p99 < 100 ms under the image load',
    p99 < 100,
    `${format(p99, 1)} ms (alone ${format(percentile(alone.job, 0.99), 1)} ms)`,
  );
  verdict(
    'dashboard file p99 < 100 ms under the image load',
    percentile(loaded.dashboard, 0.99) < 100,
    `${format(percentile(loaded.dashboard, 0.99), 1)} ms (alone ${format(percentile(alone.dashboard, 0.99), 1)} ms)`,
  );
} finally {
  await prisma.$disconnect();
  await removeBenchData(env);
}
