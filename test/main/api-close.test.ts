import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/main/start-api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';

describe('closing the API', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('api_close');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('cuts a connection whose client stopped half-way through a request, after a grace period', async () => {
    const api = await startApi(testConfig(database.url), silentLogger());
    const { port } = new URL(api.address);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    // Headers promising a body, then only part of it: the request stays in flight.
    socket.write(
      'POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"na',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    await api.close();
    const took = performance.now() - started;
    await closed;
    // Without the cut, close waits for the keep-alive timeout (72 s) or the client.
    expect(took).toBeGreaterThan(4000);
    expect(took).toBeLessThan(20_000);
  });
});
