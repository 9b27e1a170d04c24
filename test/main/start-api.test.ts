import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/main/start-api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';
import { smallSpec } from '../helpers/specs.js';

describe('the API process and AUTH', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('startapi');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('with AUTH=required wants a key everywhere but /health, and takes ADMIN_API_KEY', async () => {
    const adminKey = 'x'.repeat(16) + 'admin-key-for-this-test';
    const api = await startApi(
      testConfig(database.url, { AUTH: 'required', ADMIN_API_KEY: adminKey, MAX_ACTIVE_JOBS_PER_OWNER: '1' }),
      silentLogger(),
    );
    try {
      // Public: it reports (200, or 503 while Redis is still connecting) rather than asking for a key.
      const health = await fetch(`${api.address}/health`);
      expect(health.status).not.toBe(401);
      expect(await health.json()).toHaveProperty('status');
      const anonymous = await fetch(`${api.address}/jobs`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
      expect((await fetch(`${api.address}/jobs`, { headers })).status).toBe(200);
      const submit = () => fetch(`${api.address}/jobs`, { method: 'POST', headers, body: JSON.stringify(smallSpec()) });
      expect((await submit()).status).toBe(201);
      // The quotas are wired: one queued job is this owner's limit here.
      expect((await submit()).status).toBe(429);
    } finally {
      await api.close();
    }
  });

  it('warns that anyone can use a server on a non-loopback address with AUTH=off', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const api = await startApi(
      testConfig(database.url, { HOST: '0.0.0.0', AUTH: 'off' }),
      pino({ level: 'warn' }, sink),
    );
    await api.close();
    expect(lines.join('')).toMatch(/AUTH=off on a non-loopback address: anyone who can reach this port/);
  });
});
