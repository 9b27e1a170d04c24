// `npm run bench:ws-memory [clients] [steps]`: what WebSocket clients that never read cost the API
// process. One finished run of `steps` steps (120,000 by default) is replayed to `clients` (400)
// connections that complete the handshake and then read nothing; the API's RSS is printed before
// they connect, at its peak while they are connected, and after they have gone. Asserts nothing.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { datasets } from '../domain/datasets.js';
import { totalSteps } from '../domain/model-shape.js';
import { createPrismaClient } from '../store/database.js';
import { createJobsRepository, type JobsRepository } from '../store/jobs-repository.js';
import { benchSpec, createBenchJob, recordFinishedRun } from './networks.js';
import { benchEnv, format, messageText, procStatusBytes, startServices } from './services.js';
import WebSocket from 'ws';

const clientCount = Number(process.argv[2] ?? 400);
const stepCount = Number(process.argv[3] ?? 120_000);
// Shorter than the API's default 10 s of patience with a client that reads nothing, so every
// client is still connected (as far as it knows) when it is closed.
const holdMs = 8000;
const settleMs = 5000;
const mib = (bytes: number) => `${format(bytes / 1024 / 1024)} MiB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A finished job with `steps` steps over as many epochs as keep each within 50,000 steps. */
async function insertRun(jobs: JobsRepository, steps: number): Promise<string> {
  const epochs = Math.max(1, Math.ceil(steps / 50_000));
  const { id, spec } = await createBenchJob(jobs, {
    ...benchSpec('mlp', Math.ceil(steps / epochs), 1000, epochs),
    batchSize: 1,
  });
  await recordFinishedRun(jobs, id, {
    steps: totalSteps(spec, datasets.mnist),
    epochs,
    noise: (step) => 0.01 * Math.sin(step),
  });
  return id;
}

/** A connection that asks for the job's events and then reads nothing: not the answer, not a frame. */
function neverReading(port: number, path: string): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  return socket;
}

/** Replays the whole run to a client that reads everything; resolves with the steps it got. */
function replay(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let steps = 0;
    const socket = new WebSocket(url);
    socket.on('message', (data) => {
      const message = JSON.parse(messageText(data)) as { type: string; steps?: unknown[] };
      if (message.type === 'steps') steps += message.steps?.length ?? 0;
    });
    socket.on('close', () => resolve(steps));
    socket.on('error', reject);
  });
}

const env = benchEnv(
  'bench_ws_memory',
  3900,
  process.env.WS_MAX_BUFFERED_BYTES ? { WS_MAX_BUFFERED_BYTES: process.env.WS_MAX_BUFFERED_BYTES } : {},
);
console.log(
  `trainer bench:ws-memory: ${format(clientCount)} WebSocket clients that never read a replay of ${format(stepCount)} steps`,
);
const { api, base, stop } = await startServices(env, ['api']);
const prisma = createPrismaClient(env.DATABASE_URL);
try {
  const id = await insertRun(createJobsRepository(prisma), stepCount);
  const pid = api.child.pid as number;
  const rss = () => procStatusBytes(pid, 'VmRSS');
  const path = `/jobs/${id}/events`;
  // One full replay to a reading client first, so the route and the JSON of steps are warm.
  const replayed = await replay(`${base.replace('http', 'ws')}${path}`);
  await sleep(2000);
  const before = rss();
  console.log(`replayed ${format(replayed)} steps to a reading client; API RSS before: ${mib(before)}`);

  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
  const clients = Array.from({ length: clientCount }, () => neverReading(Number(env.PORT), path));
  await sleep(holdMs);
  const held = rss();
  const open = clients.filter((socket) => !socket.destroyed && socket.readyState === 'open').length;
  for (const socket of clients) socket.destroy();
  await sleep(settleMs);
  clearInterval(sampler);
  const after = rss();

  const over = (bytes: number) => `${bytes >= before ? '+' : ''}${mib(bytes - before)}`;
  console.log(
    `API RSS while connected: peak ${mib(peak)} (${over(peak)}, ${format((peak - before) / 1024 / clientCount)} KiB a client), ${mib(held)} after ${holdMs / 1000} s`,
  );
  console.log(`API RSS ${settleMs / 1000} s after the clients closed: ${mib(after)} (${over(after)})`);
  console.log(`clients still connected when closed: ${format(open)} of ${format(clientCount)}`);
} finally {
  await prisma.$disconnect();
  await stop();
}
