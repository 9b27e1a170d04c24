// `npm run bench:webhooks [runs] [seconds] [failSeconds]`: webhook deliveries against the issue's
// targets. Two phases, each with `runs` jobs (1,000) ending evenly over `seconds` (60), committed
// straight to Postgres as a worker's finish does, and the worker's webhook relay and delivery running
// in this process with a receiver on 127.0.0.1:
//   1. a healthy receiver: latency from each status commit (finished_at) to the receiver;
//   2. a receiver answering 500 for its first `failSeconds` (30), and Redis's delivery queue deleted
//      half-way through: how many events arrived, and how many times each (by event id).
// Retries here use a 1 s base and a 10 s cap (the defaults are 10 s and 1 h), so phase 2 ends in
// minutes. Prints figures beside the targets; asserts nothing.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '../config.js';
import { localOwner } from '../domain/access.js';
import { parseJobSpec } from '../domain/job-spec.js';
import { startWebhookDelivery } from '../main/start-webhooks.js';
import { createRedis, deletePrefixedKeys } from '../queue/redis.js';
import { createPrismaClient, dropDatabase } from '../store/database.js';
import { createJobsRepository } from '../store/jobs-repository.js';
import { migrate } from '../store/migrate.js';
import { createSecretBox } from '../store/webhooks/secret-box.js';
import { createWebhooksRepository } from '../store/webhooks/webhooks-repository.js';
import { format } from './services.js';

const runs = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 60);
const failSeconds = Number(process.argv[4] ?? 30);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sealingKey = 'bench key for sealing webhook secrets, 32+ characters';

function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? NaN;
}

const verdict = (label: string, met: boolean, detail: string) =>
  console.log(`  ${met ? 'met   ' : 'MISSED'}  ${label}: ${detail}`);

/** A receiver keeping the first arrival of every event id and counting repeats; 500 until `healthyAt`. */
async function startReceiver(healthyAt: number) {
  const firstArrival = new Map<string, { at: number; jobId: string }>();
  let requests = 0;
  let repeats = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests += 1;
      if (Date.now() < healthyAt) return void response.writeHead(500).end();
      const event = JSON.parse(Buffer.concat(chunks).toString()) as { id: string; data: { id: string } };
      if (firstArrival.has(event.id)) repeats += 1;
      else firstArrival.set(event.id, { at: Date.now(), jobId: event.data.id });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    firstArrival,
    counts: () => ({ requests, repeats }),
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** A database, queue prefix, webhook and `runs` queued jobs of a phase's own, and the delivery running on them. */
async function setUp(name: string, receiverUrl: string) {
  const suffix = `bench_webhooks_${name}_${process.pid}`;
  const databaseUrl = `postgresql://postgres@127.0.0.1:5432/trainer_${suffix}`;
  const prefix = `trainer-${suffix.replaceAll('_', '-')}`;
  await migrate(databaseUrl);
  const prisma = createPrismaClient(databaseUrl, { poolSize: 8 });
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    WEBHOOK_SECRET_KEY: sealingKey,
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    WEBHOOK_RETRY_BASE_MS: '1000',
    WEBHOOK_RETRY_MAX_DELAY_MS: '10000',
    WEBHOOK_REQUEUE_AFTER_MS: '5000',
    WEBHOOK_RELAY_INTERVAL_MS: '200',
  });
  const webhookId = randomUUID();
  await createWebhooksRepository(prisma).create({
    id: webhookId,
    owner: localOwner,
    url: receiverUrl,
    events: ['job.completed'],
    description: 'bench',
    secretSealed: createSecretBox(sealingKey).seal('whsec_bench', webhookId),
  });
  const jobs = createJobsRepository(prisma);
  const spec = { epochs: 1, trainSamples: 100, testSamples: 10, learningRate: 0.1, batchSize: 10 };
  const parsed = parseJobSpec({ ...spec, model: { layers: [{ type: 'dense', units: 10 }] } }, { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const ids = Array.from({ length: runs }, () => randomUUID());
  await jobs.createMany(ids.map((id) => ({ id, spec: parsed.spec, parameterCount: 1, totalSteps: 1 })));
  const client = createRedis(redisUrl, 'worker');
  const consumer = createRedis(redisUrl, 'worker');
  const delivery = startWebhookDelivery(config, pino({ level: 'warn' }), {
    prisma,
    client,
    consumer,
    findDataset: () => Promise.resolve(undefined),
  });
  return {
    prisma,
    jobs,
    ids,
    prefix,
    tearDown: async () => {
      await delivery.close();
      client.disconnect();
      consumer.disconnect();
      await prisma.$disconnect();
      await dropDatabase(databaseUrl).catch(() => undefined);
      await deletePrefixedKeys(redisUrl, prefix).catch(() => undefined);
    },
  };
}

/** One phase: the runs end evenly over `seconds`, then it waits for their events to arrive. */
async function phase(name: string, options: { failForMs: number; flushAtMs?: number }) {
  const receiver = await startReceiver(Date.now() + options.failForMs);
  const { prisma, jobs, ids, prefix, tearDown } = await setUp(name, receiver.url);
  const started = Date.now();
  let flushed = false;
  for (const [index, id] of ids.entries()) {
    const due = started + (index * seconds * 1000) / runs;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    if (!flushed && options.flushAtMs !== undefined && Date.now() - started >= options.flushAtMs) {
      flushed = true;
      await deletePrefixedKeys(redisUrl, prefix);
    }
    const lease = randomUUID();
    await jobs.claim(id, 'cpu', 60_000, lease);
    await jobs.finish(id, 'completed', undefined, lease);
  }
  const deadline = Date.now() + 10 * 60_000;
  while (receiver.firstArrival.size < runs && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 200));
  // Late repeats, if any, have time to arrive.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const rows = await prisma.job.findMany({ select: { id: true, finishedAt: true } });
  const finishedAt = new Map(rows.map((row) => [row.id, row.finishedAt?.getTime() ?? NaN]));
  const latencies = [...receiver.firstArrival.values()].map(({ at, jobId }) => at - (finishedAt.get(jobId) ?? NaN));
  await tearDown();
  await receiver.close();
  return { delivered: receiver.firstArrival.size, latencies, ...receiver.counts() };
}

console.log(`webhooks: ${format(runs)} runs ending over ${seconds} s, a receiver on 127.0.0.1`);
const healthy = await phase('healthy', { failForMs: 0 });
const p50 = percentile(healthy.latencies, 0.5);
const p95 = percentile(healthy.latencies, 0.95);
console.log(
  `phase 1, healthy receiver: ${format(healthy.delivered)} of ${format(runs)} delivered; commit to receiver ` +
    `p50 ${format(p50)} ms, p95 ${format(p95)} ms, max ${format(Math.max(...healthy.latencies))} ms`,
);
verdict('p95 from the status commit to the receiver < 2 s', p95 < 2000, `${format(p95)} ms`);

const faulty = await phase('faulty', { failForMs: failSeconds * 1000, flushAtMs: (seconds * 1000) / 2 });
const ratio = faulty.delivered / runs;
console.log(
  `phase 2, receiver answering 500 for ${failSeconds} s and the delivery queue deleted at ${seconds / 2} s: ` +
    `${format(faulty.delivered)} of ${format(runs)} events arrived (${format(faulty.requests)} requests, ` +
    `${format(faulty.repeats)} repeats of an event id already received)`,
);
verdict('>= 99.9% delivered', ratio >= 0.999, `${format(ratio * 100, 2)}%`);
verdict(
  'each exactly once by event id at the receiver',
  faulty.delivered === runs,
  `${format(runs - faulty.delivered)} missing, ${format(faulty.repeats)} repeats (dropped by id)`,
);
console.log('  (not measured: purging 10,000 expired runs; retention is not implemented)');
