import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jobView } from '../../../src/api/jobs/job-view.js';
import { createWebhooksService } from '../../../src/api/webhooks/webhooks-service.js';
import { bundledDataset } from '../../../src/domain/datasets.js';
import { localViewer } from '../../../src/domain/access.js';
import { redactPaths, type Logger } from '../../../src/logger.js';
import { startWebhookDelivery, webhookSecrets } from '../../../src/main/start-webhooks.js';
import { createRedis } from '../../../src/queue/redis.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createJobRecordsRepository } from '../../../src/store/jobs-repository.js';
import { createSweepsRepository } from '../../../src/store/sweeps/sweeps-repository.js';
import { createDeliveriesRepository } from '../../../src/store/webhooks/deliveries-repository.js';
import { createWebhooksRepository } from '../../../src/store/webhooks/webhooks-repository.js';
import { createEventData } from '../../../src/api/webhooks/event-data.js';
import { relayOnce } from '../../../src/worker/webhooks/relay.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { redisUrl, testConfig } from '../../helpers/env.js';
import { startReceiver } from '../../helpers/webhook-receiver.js';
import { runningJob } from '../../store/jobs/queued-job.js';

type Verify = (rawBody: string, header: string, secret: string, toleranceSeconds?: number) => boolean;

/** The verification snippet of README "Webhooks", as a reader would paste it into a .mjs file. */
async function readmeVerifier(): Promise<Verify> {
  const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
  const snippet = /<!-- webhook-verification -->\s*```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!snippet) throw new Error('README.md has no webhook verification snippet');
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'verify-')), 'verify.mjs');
  await writeFile(file, snippet);
  const module = (await import(pathToFileURL(file).href)) as { verifyWebhook: Verify };
  return module.verifyWebhook;
}

// Short delays everywhere, so retries, lost messages and disabling happen within a test.
const settings = {
  WEBHOOK_SECRET_KEY: 'the key webhook secrets are sealed with in these tests',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_RETRY_BASE_MS: '50',
  WEBHOOK_RETRY_MAX_DELAY_MS: '200',
  WEBHOOK_RELAY_INTERVAL_MS: '50',
  WEBHOOK_REQUEUE_AFTER_MS: '300',
  WEBHOOK_TIMEOUT_MS: '1000',
};

describe('webhook delivery', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const logLines: string[] = [];
  const secrets: string[] = [];
  let logger: Logger;
  let running: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('webhook_delivery');
    jobs = createJobsRepository(database.prisma);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    logger = pino({ level: 'trace', redact: { paths: redactPaths, censor: '[redacted]' } }, sink);
  });
  afterAll(async () => {
    await running?.stop();
    await database.drop();
  });
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await receiver.close();
    await database.prisma.webhook.deleteMany();
  });

  /** The worker's webhook delivery (relay and consumer), with `overrides` of the test settings. */
  function startDelivery(overrides: Record<string, string> = {}) {
    const config = testConfig(database.url, { ...settings, ...overrides });
    const client = createRedis(redisUrl, 'worker');
    const consumer = createRedis(redisUrl, 'worker');
    const service = startWebhookDelivery(config, logger, {
      prisma: database.prisma,
      client,
      consumer,
      findDataset: (name) => Promise.resolve(bundledDataset(name)),
    });
    running = {
      async stop() {
        await service.close();
        client.disconnect();
        consumer.disconnect();
      },
    };
    return config;
  }

  async function subscribe(events: ('*' | 'job.completed' | 'job.failed')[]) {
    const config = testConfig(database.url, settings);
    const service = createWebhooksService({
      webhooks: createWebhooksRepository(database.prisma),
      deliveries: createDeliveriesRepository(database.prisma),
      ...(webhookSecrets(config) ? { secrets: webhookSecrets(config) } : {}),
      enqueue: () => Promise.resolve(),
      allowPrivateNetworks: true,
      resolve: () => Promise.resolve([]),
      retryForMs: 60_000,
      logger,
    });
    const webhook = await service.create(localViewer, { url: receiver.url, events });
    secrets.push(webhook.secret);
    return webhook;
  }

  async function finishedJob(status: 'completed' | 'failed' = 'completed') {
    const { id, owner } = await runningJob(jobs);
    await jobs.finish(id, status, status === 'failed' ? 'it broke' : undefined, owner);
    return id;
  }

  const deliveriesOf = (webhookId: string) => createDeliveriesRepository(database.prisma).list(webhookId, 50);

  async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (done(value)) return value;
      if (Date.now() > deadline) throw new Error(`gave up waiting; last: ${JSON.stringify(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('POSTs the event with the job as GET /jobs/:id shows it, signed so the README snippet verifies it', async () => {
    const webhook = await subscribe(['job.completed']);
    startDelivery();
    const jobId = await finishedJob();
    const [delivery] = await receiver.waitFor(1);
    if (!delivery) throw new Error('nothing arrived');
    const body = JSON.parse(delivery.rawBody) as Record<string, unknown>;
    const job = await jobs.find(jobId);
    if (!job) throw new Error('the job is gone');
    expect(body).toEqual({
      id: delivery.headers['trainer-event-id'],
      type: 'job.completed',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      data: JSON.parse(JSON.stringify(jobView(job))) as unknown,
    });
    expect(delivery.headers['content-type']).toBe('application/json');
    const signature = String(delivery.headers['trainer-signature']);
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const verify = await readmeVerifier();
    expect(verify(delivery.rawBody, signature, webhook.secret)).toBe(true);
    expect(verify(delivery.rawBody.replace('completed', 'failed'), signature, webhook.secret)).toBe(false);
    expect(verify(delivery.rawBody, signature, `${webhook.secret}x`)).toBe(false);
    expect(verify(delivery.rawBody, signature, webhook.secret, -1)).toBe(false);
    const [recorded] = await until(
      () => deliveriesOf(webhook.id),
      (list) => list[0]?.status === 'succeeded',
    );
    expect(recorded?.attemptLog.map((attempt) => attempt.statusCode)).toEqual([200]);
  });

  it('retries a receiver that fails, with the same event id and body, until it recovers', async () => {
    receiver.answerWith((index) => (index < 2 ? { status: 500, body: 'down for maintenance' } : { status: 204 }));
    const webhook = await subscribe(['job.failed']);
    startDelivery();
    await finishedJob('failed');
    const arrived = await receiver.waitFor(3);
    expect(new Set(arrived.map((request) => request.headers['trainer-event-id'])).size).toBe(1);
    expect(new Set(arrived.map((request) => request.rawBody)).size).toBe(1);
    const [delivery] = await until(
      () => deliveriesOf(webhook.id),
      (list) => list[0]?.status === 'succeeded',
    );
    expect(delivery?.attempts).toBe(3);
    expect(delivery?.attemptLog.map((attempt) => [attempt.attempt, attempt.statusCode, attempt.error])).toEqual([
      [3, 204, null],
      [2, 500, 'answered 500'],
      [1, 500, 'answered 500'],
    ]);
    expect(delivery?.attemptLog[1]?.responseExcerpt).toBe('down for maintenance');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received).toHaveLength(3);
    const stored = await database.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } });
    expect(stored.failingSince).toBeNull();
  });

  it('delivers an event committed while no worker ran, and one whose queue message was lost, each once', async () => {
    const webhook = await subscribe(['*']);
    // The worker that committed these is gone before anything was queued: only the outbox has them.
    const committed = await finishedJob();
    expect(await database.prisma.webhookEvent.count({ where: { subjectId: committed, relayedAt: null } })).toBe(2);
    // A relay that made deliveries of them and died (or whose Redis was flushed) before queueing.
    const relayed = await relayOnce({
      deliveries: createDeliveriesRepository(database.prisma),
      describe: createEventData({
        jobs: createJobRecordsRepository(database.prisma),
        sweeps: createSweepsRepository(database.prisma),
        findDataset: () => Promise.resolve(undefined),
      }),
      enqueue: () => Promise.resolve(),
      retryForMs: 60_000,
      requeueAfterMs: 60_000,
      keepHistoryMs: 60_000,
    });
    expect(relayed).toBe(2);
    const later = await finishedJob();
    startDelivery();
    const arrived = await receiver.waitFor(4);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const events = arrived.map((request) => JSON.parse(request.rawBody) as { type: string; data: { id: string } });
    expect(events.map((event) => `${event.data.id} ${event.type}`).sort()).toEqual(
      [
        `${committed} job.started`,
        `${committed} job.completed`,
        `${later} job.started`,
        `${later} job.completed`,
      ].sort(),
    );
    expect(receiver.received).toHaveLength(4);
    const deliveries = await deliveriesOf(webhook.id);
    expect(deliveries.map((delivery) => delivery.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  });

  it('disables a webhook whose deliveries keep failing, saying why', async () => {
    receiver.answerWith(() => ({ status: 503 }));
    const webhook = await subscribe(['job.completed']);
    startDelivery({ WEBHOOK_DISABLE_AFTER_MS: '400', WEBHOOK_RETRY_FOR_MS: '60000' });
    await finishedJob();
    const disabled = await until(
      () => database.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } }),
      (row) => row.disabledAt !== null,
    );
    expect(disabled.disabledReason).toBe('every delivery failed for 0.4 s; the last: answered 503');
    const [delivery] = await deliveriesOf(webhook.id);
    expect(delivery?.status).toBe('failed');
    expect(delivery?.attempts).toBeGreaterThan(1);
    // Disabled, it gets no more events.
    const count = receiver.received.length;
    await finishedJob();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.received).toHaveLength(count);
  });

  it('fails the attempts of a secret sealed under another key, sending nothing, until the webhook is disabled', async () => {
    const webhook = await subscribe(['job.completed']);
    startDelivery({
      WEBHOOK_SECRET_KEY: 'a different key than the one the secret was sealed with',
      WEBHOOK_DISABLE_AFTER_MS: '300',
    });
    await finishedJob();
    await until(
      () => database.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } }),
      (row) => row.disabledAt !== null,
    );
    const [delivery] = await deliveriesOf(webhook.id);
    expect(delivery?.status).toBe('failed');
    expect(delivery?.attemptLog[0]?.error).toBe('the signing secret cannot be opened: was WEBHOOK_SECRET_KEY changed?');
    expect(receiver.received).toHaveLength(0);
  });

  it('never writes a secret or a signature to the log', () => {
    expect(secrets.length).toBeGreaterThan(0);
    expect(logLines.length).toBeGreaterThan(5);
    expect(logLines.some((line) => line.includes('webhook delivery failed'))).toBe(true);
    for (const line of logLines) {
      for (const secret of secrets) expect(line).not.toContain(secret);
      expect(line).not.toMatch(/v1=[0-9a-f]{64}/);
    }
  });
});
