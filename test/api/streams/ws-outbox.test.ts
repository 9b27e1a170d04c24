import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createOutbox, tooSlowCode, tooSlowReason, type OutboxOptions } from '../../../src/api/streams/ws-outbox.js';

// A real `ws` server and client on loopback: the client stops reading with pause(), so what piles up
// is what the kernel would not take, as with a client that never reads.

const bound = 64 * 1024;
const message = { type: 'steps', padding: 'x'.repeat(8 * 1024) };

describe('a WebSocket connection outbox', () => {
  let server: WebSocketServer;
  let url: string;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.terminate();
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /** A connected pair: the server's socket with an outbox, and a client that records what it reads. */
  async function connect(options: Partial<OutboxOptions> = {}) {
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(url);
    clients.push(client);
    const received: unknown[] = [];
    client.on('message', (data) => received.push(JSON.parse((data as Buffer).toString())));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      client.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise((resolve) => client.once('open', resolve));
    const socket = await accepted;
    const outbox = createOutbox(socket, { maxBufferedBytes: bound, slowClientMs: 10_000, ...options });
    return { client, socket, outbox, received, closed };
  }

  /** Sends until more than a quarter of the bound waits unsent (the kernel takes the first megabytes). */
  function fillPastLowWater(socket: WebSocket, outbox: ReturnType<typeof createOutbox>): number {
    let sent = 0;
    while (socket.bufferedAmount <= bound / 4) {
      expect(outbox.send({ seq: sent + 1, ...message })).toBe(true);
      sent += 1;
    }
    return sent;
  }

  const settled = async (promise: Promise<unknown>, ms: number) =>
    Promise.race([promise.then(() => 'settled'), new Promise((resolve) => setTimeout(() => resolve('pending'), ms))]);

  it('passes messages to a client that reads, and is drained at once', async () => {
    const { outbox, received } = await connect();
    expect(outbox.send({ seq: 1, type: 'status' })).toBe(true);
    expect(await outbox.drained()).toBe(true);
    await expect.poll(() => received).toEqual([{ seq: 1, type: 'status' }]);
  });

  it('waits while the client reads nothing, and goes on once it has read down to a quarter of the bound', async () => {
    const { client, socket, outbox, received } = await connect();
    client.pause();
    const sent = fillPastLowWater(socket, outbox);
    const drained = outbox.drained();
    expect(await settled(drained, 300)).toBe('pending');
    // Nothing past the bound was queued meanwhile.
    expect(socket.bufferedAmount).toBeLessThanOrEqual(bound + JSON.stringify(message).length + 100);

    client.resume();
    expect(await drained).toBe(true);
    expect(socket.bufferedAmount).toBeLessThanOrEqual(bound / 4);
    // Every message arrives, once and in order.
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(sent);
    expect(received.map((each) => (each as { seq: number }).seq)).toEqual(
      Array.from({ length: sent }, (_, i) => i + 1),
    );
  });

  it('closes a client that has not read down in time with 1008 and says how to resume', async () => {
    const { client, socket, outbox, closed } = await connect({ slowClientMs: 300 });
    client.pause();
    fillPastLowWater(socket, outbox);
    expect(await outbox.drained()).toBe(false);
    expect(socket.readyState).toBe(socket.CLOSING);
    expect(outbox.send(message)).toBe(false);
    client.resume();
    expect(await closed).toEqual({ code: tooSlowCode, reason: tooSlowReason });
    expect(tooSlowReason).toMatch(/reconnect with \?since=/);
  });

  it('closes a client that is past the bound when a live message is due, instead of queueing it', async () => {
    const { client, socket, outbox, closed } = await connect();
    client.pause();
    let accepted = 0;
    while (outbox.send(message)) accepted += 1;
    // The kernel took the first of them; past the bound, one more message was refused.
    expect(accepted).toBeGreaterThan(0);
    expect(socket.bufferedAmount).toBeGreaterThan(bound);
    expect(socket.bufferedAmount).toBeLessThanOrEqual(bound + JSON.stringify(message).length + 100);
    expect(socket.readyState).toBe(socket.CLOSING);
    client.resume();
    expect((await closed).code).toBe(tooSlowCode);
  });

  it('destroys a client that does not even read the close frame', async () => {
    const { client, socket, outbox } = await connect();
    client.pause();
    while (outbox.send(message));
    const gone = new Promise((resolve) => socket.once('close', resolve));
    // Neither read nor answered: the server gives up on the closing handshake after a second.
    expect(await settled(gone, 3000)).toBe('settled');
    expect(socket.readyState).toBe(socket.CLOSED);
  });

  it('stops waiting as soon as the client goes away', async () => {
    const { client, socket, outbox } = await connect();
    client.pause();
    fillPastLowWater(socket, outbox);
    const drained = outbox.drained();
    client.terminate();
    expect(await settled(drained, 2000)).toBe('settled');
    expect(await drained).toBe(false);
  });
});
