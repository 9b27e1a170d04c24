import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWebhookUrl } from '../../../src/api/webhooks/webhook-url.js';
import type { Resolve } from '../../../src/domain/network-addresses.js';
import { postJson, type PostOptions } from '../../../src/worker/webhooks/safe-post.js';
import { startReceiver } from '../../helpers/webhook-receiver.js';

const strict: PostOptions = { allowPrivateNetworks: false, timeoutMs: 2000, maxResponseBytes: 64 * 1024 };
const open: PostOptions = { ...strict, allowPrivateNetworks: true };

describe('a webhook POST', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.close());

  it('refuses a loopback address without WEBHOOK_ALLOW_PRIVATE_NETWORKS, and sends nothing', async () => {
    const before = receiver.received.length;
    await expect(postJson(receiver.url, '{}', {}, strict)).rejects.toThrow(/127\.0\.0\.1.*loopback/);
    await expect(postJson(`http://localhost:${receiver.port}/hook`, '{}', {}, strict)).rejects.toThrow(/loopback/);
    await expect(postJson(`http://[::1]:${receiver.port}/hook`, '{}', {}, strict)).rejects.toThrow(/loopback/);
    expect(receiver.received.length).toBe(before);
    expect((await postJson(receiver.url, '{}', {}, open)).statusCode).toBe(200);
  });

  it('refuses, at connect, a name that passed the check at creation and now resolves to 127.0.0.1', async () => {
    // DNS rebinding: the name answers a public address when the webhook is created, loopback later.
    const answers = ['93.184.216.34', '127.0.0.1'];
    const rebinding: Resolve = () => Promise.resolve([{ address: answers.shift() ?? '127.0.0.1', family: 4 }]);
    const url = `http://hooks.example.test:${receiver.port}/hook`;
    await checkWebhookUrl(url, { allowPrivateNetworks: false, resolve: rebinding });
    const before = receiver.received.length;
    await expect(postJson(url, '{}', {}, { ...strict, resolve: rebinding })).rejects.toThrow(
      /hooks\.example\.test resolves to 127\.0\.0\.1/,
    );
    expect(receiver.received.length).toBe(before);
  });

  it('refuses a name any of whose addresses is private, link-local or metadata', async () => {
    const resolve: Resolve = () =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ]);
    await expect(postJson('http://metadata.example.test/', '{}', {}, { ...strict, resolve })).rejects.toThrow(
      /169\.254\.169\.254/,
    );
    await expect(
      checkWebhookUrl('http://metadata.example.test/', { allowPrivateNetworks: false, resolve }),
    ).rejects.toThrow(/invalid url/);
  });

  it('connects to the checked address while the Host header keeps the name', async () => {
    const resolve: Resolve = () => Promise.resolve([{ address: '127.0.0.1', family: 4 }]);
    const before = receiver.received.length;
    await postJson(`http://hooks.example.test:${receiver.port}/hook?x=1`, '{"a":1}', {}, { ...open, resolve });
    const request = receiver.received[before];
    expect(request?.headers.host).toBe(`hooks.example.test:${receiver.port}`);
    expect(request?.path).toBe('/hook?x=1');
    expect(request?.rawBody).toBe('{"a":1}');
  });

  it('does not follow a redirect: the 3xx is the answer', async () => {
    receiver.answerWith(() => ({ status: 302 }));
    const before = receiver.received.length;
    expect((await postJson(receiver.url, '{}', {}, open)).statusCode).toBe(302);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received.length).toBe(before + 1);
    receiver.answerWith(() => ({ status: 200 }));
  });

  it('reads at most maxResponseBytes of the answer, and keeps its first KiB', async () => {
    receiver.answerWith(() => ({ status: 200, body: 'x'.repeat(4 * 1024 * 1024) }));
    const answer = await postJson(receiver.url, '{}', {}, { ...open, maxResponseBytes: 64 * 1024 });
    expect(answer.statusCode).toBe(200);
    expect(answer.excerpt).toBe('x'.repeat(1024));
    receiver.answerWith(() => ({ status: 200 }));
  });

  it('gives up when no answer comes within the timeout', async () => {
    receiver.answerWith(() => ({ status: 200, delayMs: 3000 }));
    const started = Date.now();
    await expect(postJson(receiver.url, '{}', {}, { ...open, timeoutMs: 300 })).rejects.toThrow(
      'no answer within 300 ms',
    );
    expect(Date.now() - started).toBeLessThan(2000);
    receiver.answerWith(() => ({ status: 200 }));
  });
});
