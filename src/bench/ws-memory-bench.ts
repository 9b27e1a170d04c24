// `npm run bench:ws-memory [clients] [steps]`: what WebSocket clients that never read cost the API
// process. One finished run of `steps` steps (120,000 by default) is replayed to `clients` (400)
// connections that complete the handshake and then read nothing; the API's RSS is printed before
// they connect, while they are connected (at its peak, and after a full garbage collection) and after
// they have gone (before and after one). Asserts nothing.
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createPrismaClient } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { insertFinishedRun, replaySteps } from './long-runs.js';
import { benchEnv, format, procStatusBytes, startServices } from './services.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const clientCount = Number(process.argv[2] ?? 400);
const stepCount = Number(process.argv[3] ?? 120_000);
// Long enough for the replays to fill what the kernel's socket buffers take and then their bound.
const holdMs = 15_000;
const settleMs = 5000;
const mib = (bytes: number) => `${format(bytes / 1024 / 1024)} MiB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connection that asks for the job's events and then reads nothing: not the answer, not a frame. */
function neverReading(port: number, target: string): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  return socket;
}

const env = benchEnv('bench_ws_memory', 3900, {
  // SIGUSR2 runs a full collection in the API, so "held" figures are what it keeps, not what V8 has yet to collect.
  NODE_OPTIONS: `--expose-gc --require ${path.join(here, '../../scripts/gc-on-signal.cjs')}`,
  ...(process.env.WS_MAX_BUFFERED_BYTES ? { WS_MAX_BUFFERED_BYTES: process.env.WS_MAX_BUFFERED_BYTES } : {}),
  // Longer than the bench, so every client stays connected until it is closed here.
  WS_SLOW_CLIENT_MS: '600000',
});
console.log(
  `trainer bench:ws-memory: ${format(clientCount)} WebSocket clients that never read a replay of ${format(stepCount)} steps`,
);
const { api, base, stop } = await startServices(env, ['api']);
const prisma = createPrismaClient(env.DATABASE_URL);
try {
  const id = await insertFinishedRun(createJobsRepository(prisma), stepCount);
  const pid = api.child.pid as number;
  const rss = () => procStatusBytes(pid, 'VmRSS');
  const collected = async () => {
    api.child.kill('SIGUSR2');
    await sleep(500);
    return rss();
  };
  const eventsPath = `/jobs/${id}/events`;
  // One full replay to a reading client first, so the route and the JSON of steps are warm.
  const replayed = await replaySteps(`${base.replace('http', 'ws')}${eventsPath}`);
  await sleep(1000);
  const before = await collected();
  console.log(`replayed ${format(replayed)} steps to a reading client; API RSS before: ${mib(before)}`);

  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
  const clients = Array.from({ length: clientCount }, () => neverReading(Number(env.PORT), eventsPath));
  await sleep(holdMs);
  const connected = rss();
  const held = await collected();
  clearInterval(sampler);
  // As the API counts them: one it has closed for reading too slowly is gone from here.
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const open = Number(/^trainer_websocket_clients(?:\{[^}]*\})? (\d+)/m.exec(metrics)?.[1] ?? NaN);
  for (const socket of clients) socket.destroy();
  await sleep(settleMs);
  const after = rss();
  const afterCollected = await collected();

  const over = (bytes: number) => `${mib(bytes)} (${bytes >= before ? '+' : ''}${mib(bytes - before)})`;
  const perClient = (bytes: number) => `${format((bytes - before) / 1024 / clientCount)} KiB a client`;
  const line = (label: string, text: string) => console.log(`${label.padEnd(38)} ${text}`);
  line('during, peak:', `${over(peak)}, ${perClient(peak)}`);
  line(`during, after ${holdMs / 1000} s:`, over(connected));
  line('during, after a full collection:', `${over(held)}, ${perClient(held)}`);
  line(`${settleMs / 1000} s after the clients closed:`, over(after));
  line('then after a full collection:', over(afterCollected));
  console.log(`connections the API still had when they were closed: ${format(open)} of ${format(clientCount)}`);
} finally {
  await prisma.$disconnect();
  await stop();
}
