import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhooksService, type WebhooksServiceDeps } from '../../../src/api/webhooks/webhooks-service.js';
import type { Resolve } from '../../../src/domain/network-addresses.js';
import type { QueuedAttempt } from '../../../src/store/webhooks/deliveries-repository.js';
import { createDeliveriesRepository } from '../../../src/store/webhooks/deliveries-repository.js';
import { createSecretBox } from '../../../src/store/webhooks/secret-box.js';
import { createWebhooksRepository } from '../../../src/store/webhooks/webhooks-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { redactPaths } from '../../../src/logger.js';
import { appWithoutStore } from '../http/app-stand-ins.js';

const sealingKey = 'the key webhook secrets are sealed with in this test';
// hooks.example.test is a public address; localhost is this machine.
const resolve: Resolve = (name) =>
  Promise.resolve([{ address: name === 'hooks.example.test' ? '93.184.216.34' : '127.0.0.1', family: 4 }]);

describe('webhooks API', () => {
  let database: TestDatabase;
  const queued: QueuedAttempt[] = [];
  // Everything the app and the service log, at every level.
  const logLines: string[] = [];
  const logger = pino(
    { level: 'trace', redact: { paths: redactPaths, censor: '[redacted]' } },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  );

  function appWith(overrides: Partial<WebhooksServiceDeps> = {}): FastifyInstance {
    return appWithoutStore({
      logger,
      webhooks: createWebhooksService({
        webhooks: createWebhooksRepository(database.prisma),
        deliveries: createDeliveriesRepository(database.prisma),
        secrets: createSecretBox(sealingKey),
        enqueue: (attempts) => {
          queued.push(...attempts);
          return Promise.resolve();
        },
        allowPrivateNetworks: false,
        resolve,
        retryForMs: 60_000,
        logger,
        ...overrides,
      }),
    });
  }

  let app: FastifyInstance;
  beforeAll(async () => {
    database = await createTestDatabase('webhooks_api');
    app = appWith();
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
  });

  const create = (body: unknown, on = app) => on.inject({ method: 'POST', url: '/webhooks', payload: body as object });

  it('answers 201 with the secret once; reads never show it, and the database holds it only sealed', async () => {
    const created = await create({
      url: 'https://hooks.example.test/trainer',
      events: ['job.completed', 'sweep.completed'],
      description: 'CI',
    });
    expect(created.statusCode).toBe(201);
    const webhook = created.json<{ id: string; secret: string; enabled: boolean; events: string[] }>();
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(webhook).toMatchObject({ enabled: true, events: ['job.completed', 'sweep.completed'], owner: 'local' });
    const read = await app.inject({ method: 'GET', url: `/webhooks/${webhook.id}` });
    expect(read.statusCode).toBe(200);
    expect(read.body).not.toContain(webhook.secret);
    expect(read.json()).not.toHaveProperty('secret');
    const listed = await app.inject({ method: 'GET', url: '/webhooks' });
    expect(listed.json<{ webhooks: { id: string }[] }>().webhooks.map((entry) => entry.id)).toContain(webhook.id);
    expect(listed.body).not.toContain(webhook.secret);
    const rows = await database.prisma.$queryRaw<unknown[]>`SELECT * FROM webhooks`;
    expect(JSON.stringify(rows)).not.toContain(webhook.secret);
    expect(JSON.stringify(rows)).not.toContain(webhook.secret.slice(6));
    expect(logLines.some((line) => line.includes('webhook created'))).toBe(true);
    for (const line of logLines) expect(line).not.toContain(webhook.secret.slice(6));
  });

  it('refuses an unknown event with a 400 naming the field', async () => {
    const response = await create({ url: 'https://hooks.example.test/', events: ['job.completed', 'job.exploded'] });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ issues: { path: string }[] }>().issues.map((issue) => issue.path)).toEqual(['events.1']);
    const empty = await create({ url: 'https://hooks.example.test/', events: [] });
    expect(empty.json<{ issues: { path: string }[] }>().issues.map((issue) => issue.path)).toEqual(['events']);
    const unknownField = await create({ url: 'https://hooks.example.test/', events: ['*'], secret: 'mine' });
    expect(unknownField.statusCode).toBe(400);
  });

  it('refuses loopback, private and metadata URLs without WEBHOOK_ALLOW_PRIVATE_NETWORKS, naming url', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://localhost/hook',
      'http://[::1]/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.7/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'ftp://hooks.example.test/',
      'https://user:password@hooks.example.test/',
      'not a url',
    ]) {
      const response = await create({ url, events: ['*'] });
      expect(response.statusCode, url).toBe(400);
      expect(response.json<{ issues: { path: string }[] }>().issues.map((issue) => issue.path)).toEqual(['url']);
    }
    const open = appWith({ allowPrivateNetworks: true });
    expect((await create({ url: 'http://127.0.0.1:8080/hook', events: ['*'] }, open)).statusCode).toBe(201);
    await open.close();
  });

  it('answers 503 webhooks_not_configured without WEBHOOK_SECRET_KEY', async () => {
    const off = appWith({ secrets: undefined });
    const response = await create({ url: 'https://hooks.example.test/', events: ['*'] }, off);
    expect(response.statusCode).toBe(503);
    expect(response.json<{ code: string }>().code).toBe('webhooks_not_configured');
    await off.close();
  });

  it('lists deliveries with their attempts, and redelivers one, enabling its disabled webhook', async () => {
    const webhook = (await create({ url: 'https://hooks.example.test/', events: ['*'] })).json<{ id: string }>();
    const event = await database.prisma.webhookEvent.create({
      data: { type: 'job.failed', owner: 'local', subjectId: randomUUID(), relayedAt: new Date() },
    });
    const delivery = await database.prisma.webhookDelivery.create({
      data: {
        id: randomUUID(),
        webhookId: webhook.id,
        eventId: event.id,
        eventType: 'job.failed',
        body: '{}',
        status: 'failed',
        attempts: 2,
        retryUntil: new Date(),
        attemptLog: {
          create: [
            { attempt: 1, statusCode: 500, durationMs: 12, error: 'answered 500', responseExcerpt: 'oops' },
            { attempt: 2, statusCode: null, durationMs: 5000, error: 'no answer within 5000 ms' },
          ],
        },
      },
    });
    await database.prisma.webhook.update({
      where: { id: webhook.id },
      data: { disabledAt: new Date(), disabledReason: 'every delivery failed for 24 h' },
    });
    const disabled = (await app.inject({ method: 'GET', url: `/webhooks/${webhook.id}` })).json<object>();
    expect(disabled).toMatchObject({ enabled: false, disabledReason: 'every delivery failed for 24 h' });

    const listed = await app.inject({ method: 'GET', url: `/webhooks/${webhook.id}/deliveries?limit=10` });
    expect(listed.statusCode).toBe(200);
    expect(listed.json()).toMatchObject({
      deliveries: [
        {
          id: delivery.id,
          eventId: event.id,
          status: 'failed',
          attempts: 2,
          nextAttemptAt: null,
          attemptLog: [
            { attempt: 2, statusCode: null, durationMs: 5000, error: 'no answer within 5000 ms', response: null },
            { attempt: 1, statusCode: 500, durationMs: 12, error: 'answered 500', response: 'oops' },
          ],
        },
      ],
    });

    const again = await app.inject({
      method: 'POST',
      url: `/webhooks/${webhook.id}/deliveries/${delivery.id}/redeliver`,
    });
    expect(again.statusCode).toBe(202);
    expect(queued.at(-1)).toEqual({ deliveryId: delivery.id, attempt: 3, delayMs: 0 });
    expect((await app.inject({ method: 'GET', url: `/webhooks/${webhook.id}` })).json()).toMatchObject({
      enabled: true,
      disabledReason: null,
    });
    const missing = await app.inject({
      method: 'POST',
      url: `/webhooks/${webhook.id}/deliveries/${randomUUID()}/redeliver`,
    });
    expect(missing.statusCode).toBe(404);
  });

  it('refuses a webhook past WEBHOOK_MAX_PER_OWNER with 429 quota_exceeded', async () => {
    const existing = await database.prisma.webhook.count({ where: { owner: 'local' } });
    const capped = appWith({ maxPerOwner: existing + 1 });
    expect((await create({ url: 'https://hooks.example.test/', events: ['*'] }, capped)).statusCode).toBe(201);
    const refused = await create({ url: 'https://hooks.example.test/', events: ['*'] }, capped);
    expect(refused.statusCode).toBe(429);
    expect(refused.json<{ code: string }>().code).toBe('quota_exceeded');
    await capped.close();
  });

  it('deletes a webhook with its deliveries; a second delete and a bad id are 404 and 400', async () => {
    const webhook = (await create({ url: 'https://hooks.example.test/', events: ['*'] })).json<{ id: string }>();
    expect((await app.inject({ method: 'DELETE', url: `/webhooks/${webhook.id}` })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: `/webhooks/${webhook.id}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `/webhooks/${webhook.id}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/webhooks/nope' })).statusCode).toBe(400);
  });
});
