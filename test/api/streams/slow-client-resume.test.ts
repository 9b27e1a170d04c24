import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Service } from '../../../src/main/process.js';
import { startApi } from '../../../src/main/start-api.js';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger, testConfig } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { record, stepsOf } from '../../helpers/websocket.js';

type Step = { step: number; epoch: number; loss: number };

// A client that stops reading in the middle of a replay is closed, and loses nothing: reconnecting
// with ?since= the last step it has gets the rest, once each.
describe('a client that stops reading and reconnects', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let run: Awaited<ReturnType<typeof insertFinishedRun>>;

  beforeAll(async () => {
    database = await createTestDatabase('slow_client_resume');
    api = await startApi(
      testConfig(database.url, { WS_MAX_BUFFERED_BYTES: String(64 * 1024), WS_SLOW_CLIENT_MS: '1000' }),
      silentLogger(),
    );
    // 180,000 steps: about 8 MB to replay, more than the kernel's socket buffers take on loopback.
    run = await insertFinishedRun(createJobsRepository(database.prisma), {
      trainSamples: 60_000,
      batchSize: 1,
      epochs: 3,
    });
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('is closed by the server, and gets every step once after reconnecting with ?since=', async () => {
    const url = `${api.address.replace('http', 'ws')}/jobs/${run.id}/events`;
    const first: Step[] = [];
    let stopped = false;
    const socket = new WebSocket(url);
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    socket.on('message', (data) => {
      const message = JSON.parse((data as Buffer).toString()) as { type: string; steps?: Step[] };
      if (message.type === 'steps') first.push(...(message.steps ?? []));
      // Stops reading after the first message, with the rest of the replay to come.
      if (!stopped) socket.pause();
      stopped = true;
    });
    // Past WS_SLOW_CLIENT_MS and the second the server gives a closing client, it has let go.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    socket.resume();
    // 1008 when the close frame got through, 1006 when the server had to cut the connection.
    expect([1008, 1006]).toContain(await closed);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(run.steps.length);

    const rest = await record(`${url}?since=${first.at(-1)?.step}`);
    expect((await rest.closed).code).toBe(1000);
    expect([...first, ...stepsOf(rest.messages)]).toEqual(run.steps);
  });
});
