import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { announceCancel, cancelChannel } from '../../src/queue/cancel-channel.js';
import { listenForCancels, type CancelSubscriber } from '../../src/worker/cancel-listener.js';
import { queuePrefix, redisUrl, silentLogger } from '../helpers/env.js';

class FakeSubscriber extends EventEmitter {
  channels: string[] = [];
  subscribe = vi.fn((channel: string) => {
    this.channels.push(channel);
    return Promise.resolve(1);
  });
  unsubscribe = vi.fn(() => Promise.resolve(0));
}

const connections: Redis[] = [];
afterEach(() => connections.splice(0).forEach((connection) => connection.disconnect()));

describe('the cancel listener', () => {
  it("passes the job ids announced on its prefix's channel, and nothing else", async () => {
    const subscriber = new FakeSubscriber();
    const cancelled: string[] = [];
    const listener = listenForCancels(
      subscriber as unknown as CancelSubscriber,
      'p',
      (id) => cancelled.push(id),
      silentLogger(),
    );
    await listener.subscribed;
    expect(subscriber.channels).toEqual([cancelChannel('p')]);
    subscriber.emit('message', cancelChannel('p'), 'job-1');
    subscriber.emit('message', cancelChannel('other'), 'job-2');
    subscriber.emit('message', 'p:events:all', 'job-3');
    await listener.close();
    subscriber.emit('message', cancelChannel('p'), 'job-4');
    expect(cancelled).toEqual(['job-1']);
  });

  it('receives announcements through Redis, also after its connection was cut', async () => {
    const prefix = queuePrefix('cancel');
    const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const publisher = new Redis(redisUrl);
    connections.push(subscriber, publisher);
    const clientId = await subscriber.client('ID');
    const cancelled: string[] = [];
    const listener = listenForCancels(subscriber, prefix, (id) => cancelled.push(id), silentLogger());
    await listener.subscribed;
    await announceCancel(publisher, prefix, 'before');
    await vi.waitFor(() => expect(cancelled).toEqual(['before']));

    const reconnected = new Promise((resolve) => subscriber.once('ready', resolve));
    await publisher.client('KILL', 'ID', String(clientId));
    await reconnected;
    // Subscribed again by the connection itself: announcements reach the listener once it is.
    await vi.waitFor(
      async () => {
        await announceCancel(publisher, prefix, 'after');
        expect(cancelled).toContain('after');
      },
      { timeout: 5000, interval: 50 },
    );
    await listener.close();
  });
});
