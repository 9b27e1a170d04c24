import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { smallSpec } from '../helpers/specs.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

// A worker that commits a job's end and is killed before it relays the event: the event waits in
// the outbox, committed with the status, and the next worker delivers it.
describe('webhooks when a worker is killed between commit and delivery', () => {
  let database: TestDatabase;
  let config: Config;
  let api: Service & { address: string };
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const workers: ChildService[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('webhook_kill');
    config = testConfig(database.url, {
      WEBHOOK_SECRET_KEY: 'the key webhook secrets are sealed with in this test',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RELAY_INTERVAL_MS: '50',
    });
    api = await startApi(config, silentLogger());
    receiver = await startReceiver();
  });
  afterAll(async () => {
    for (const worker of workers) await worker.stop('SIGKILL');
    await api.close();
    await receiver.close();
    await database.drop();
  });

  it('delivers job.started and job.completed once each, from the worker that came after', async () => {
    const created = await fetch(`${api.address}/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: receiver.url, events: ['job.started', 'job.completed'] }),
    });
    expect(created.status).toBe(201);
    // This worker relays once as it starts, then not for a minute: whatever it commits stays in the outbox.
    const doomed = spawnService('worker', config, { WEBHOOK_RELAY_INTERVAL_MS: '60000' });
    workers.push(doomed);
    await doomed.waitFor(/webhook relay running/);
    const submitted = await fetch(`${api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(smallSpec({ name: 'webhook-kill', epochs: 1, trainSamples: 256, testSamples: 64 })),
    });
    const job = (await submitted.json()) as { id: string };
    const deadline = Date.now() + 60_000;
    while ((await database.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).status !== 'completed') {
      if (Date.now() > deadline) throw new Error('the job never completed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    doomed.child.kill('SIGKILL');
    await doomed.stop('SIGKILL');
    expect(receiver.received).toHaveLength(0);
    expect(await database.prisma.webhookEvent.count({ where: { subjectId: job.id, relayedAt: null } })).toBe(2);

    const next = spawnService('worker', config);
    workers.push(next);
    const arrived = await receiver.waitFor(2, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.received).toHaveLength(2);
    const events = arrived.map((request) => JSON.parse(request.rawBody) as { type: string; data: { id: string } });
    expect(events.map((event) => event.type).sort()).toEqual(['job.completed', 'job.started']);
    expect(events.every((event) => event.data.id === job.id)).toBe(true);
  });
});
