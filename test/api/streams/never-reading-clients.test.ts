import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { testConfig } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { freePort } from '../../helpers/own-services.js';
import { spawnService, type ChildService } from '../../helpers/processes.js';
import { record, stepsOf } from '../../helpers/websocket.js';

// WebSocket clients that ask for a long replay and then read nothing, against an API process of its
// own, so its memory is theirs to measure. What each one costs must stay bounded while they are
// connected, and be given back once they have gone. Every figure is taken after a full garbage
// collection: what the process holds, not what V8 has yet to collect.

const clientCount = 100;
const stepCount = 120_000;
const mib = 1024 * 1024;
const gcPreload = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../scripts/gc-on-signal.cjs');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** CPU time the process has used so far, in clock ticks (user + system). */
function cpuTicksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command's closing parenthesis start at the third: utime is the 14th, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Waits until the process has used under 5% of a core for a whole second: every replay has paused or ended. */
async function untilIdle(pid: number, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ticks = cpuTicksOf(pid);
    await sleep(1000);
    // Clock ticks are hundredths of a second on Linux.
    if (cpuTicksOf(pid) - ticks <= 5) return;
    if (Date.now() > deadline) throw new Error('the API never went idle');
  }
}

/** The API's RSS after a full garbage collection: what it still holds, not what V8 has yet to collect. */
async function heldBytes(api: ChildService): Promise<number> {
  const pid = api.child.pid as number;
  api.child.kill('SIGUSR2');
  await sleep(500);
  return rssOf(pid);
}

/** A connection that asks for a job's events and then reads nothing: not the answer, not a frame. */
function neverReading(port: number, jobId: string): net.Socket {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(
    `GET /jobs/${jobId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  return socket;
}

describe('WebSocket clients that never read a long replay', () => {
  let database: TestDatabase;
  let api: ChildService;
  let base: string;
  let jobId: string;

  const metric = async (name: string) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  };
  /** Bytes of the JavaScript heap in use and of buffers outside it. */
  const jsBytes = async () =>
    (await metric('nodejs_heap_size_used_bytes')) + (await metric('nodejs_external_memory_bytes'));
  const untilStreams = async (count: number) => {
    const deadline = Date.now() + 30_000;
    while ((await metric('trainer_websocket_clients')) !== count) {
      if (Date.now() > deadline) throw new Error(`never ${count} open WebSocket connections`);
      await sleep(100);
    }
  };
  /** RSS and JavaScript memory after a full collection. */
  const held = async () => {
    const rss = await heldBytes(api);
    return { rss, js: await jsBytes() };
  };

  beforeAll(async () => {
    database = await createTestDatabase('never_reading');
    const jobs = createJobsRepository(database.prisma);
    jobId = (await insertFinishedRun(jobs, { trainSamples: 60_000, batchSize: 1, epochs: stepCount / 60_000 })).id;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    api = spawnService('api', testConfig(database.url, { PORT: String(port) }), {
      NODE_OPTIONS: `--expose-gc --require ${gcPreload}`,
      // Longer than the test, so every client is still connected while it is measured.
      WS_SLOW_CLIENT_MS: '300000',
    });
    await api.waitFor(/api listening/);
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  it(`holds a bounded amount for each of ${clientCount} of them, and gives it back once they have gone`, async () => {
    const pid = api.child.pid as number;
    // One whole replay to a client that reads, so what the route allocates once is in `before`.
    const reader = await record(`${base.replace('http', 'ws')}/jobs/${jobId}/events`);
    await reader.closed;
    expect(stepsOf(reader.messages)).toHaveLength(stepCount);
    await untilIdle(pid);
    const before = await held();

    let peak = before.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
    const clients = Array.from({ length: clientCount }, () => neverReading(Number(new URL(base).port), jobId));
    try {
      await untilStreams(clientCount);
      // The most held over 15 s while they stay connected (the replays fill the kernel's socket
      // buffers, then the bound, then wait), a collection every 1.5 s.
      const during = { rss: 0, js: 0 };
      for (let sample = 0; sample < 8; sample++) {
        await sleep(1500);
        const now = await held();
        during.rss = Math.max(during.rss, now.rss);
        during.js = Math.max(during.js, now.js);
      }
      expect(await metric('trainer_websocket_clients')).toBe(clientCount);

      for (const socket of clients) socket.destroy();
      await untilStreams(0);
      await untilIdle(pid);
      const after = await held();
      clearInterval(sampler);

      const shown = (bytes: number) => `${(bytes / mib).toFixed(0)} MiB`;
      console.log(
        `API with ${clientCount} clients that never read a ${stepCount}-step replay: RSS before ${shown(before.rss)}, ` +
          `peak ${shown(peak)}, during ${shown(during.rss)}, after ${shown(after.rss)}; ` +
          `JS heap and buffers before ${shown(before.js)}, during ${shown(during.js)}, after ${shown(after.js)}`,
      );
      // Each client may hold its bound (256 KiB) plus the message that crossed it, the page of
      // history being sent and its connection's own objects: well under 1 MiB (about 0.5 measured).
      // With the former 4 MiB bound and a page of step objects held per client: 3.2 MiB a client.
      expect(during.js - before.js).toBeLessThan(clientCount * mib);
      // RSS also counts what V8 and malloc keep for reuse after the burst of sending: 60-140 MiB in
      // all measured here, 460 MiB with the former bound.
      expect(during.rss - before.rss).toBeLessThan(clientCount * 1.5 * mib + 64 * mib);
      // Gone, they leave nothing behind in JavaScript, and RSS comes back near where it started:
      // within what malloc keeps of its heap after such a burst (-10 to +40 MiB measured here).
      expect(after.js - before.js).toBeLessThan(8 * mib);
      expect(after.rss - before.rss).toBeLessThan(96 * mib);
    } finally {
      clearInterval(sampler);
      for (const socket of clients) socket.destroy();
    }
  });
});
