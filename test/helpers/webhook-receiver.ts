import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  headers: http.IncomingHttpHeaders;
  /** The body exactly as it arrived. */
  rawBody: string;
  path: string;
}

/** How the receiver answers its `index`th request (0-based): a status, after `delayMs`, with a body. */
export type Answer = (index: number) => { status: number; delayMs?: number; body?: string };

/** An HTTP server on 127.0.0.1 standing in for a webhook's receiver, keeping every request. */
export async function startReceiver(answer: Answer = () => ({ status: 200 })) {
  const received: ReceivedDelivery[] = [];
  let respond = answer;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const index = received.length;
      received.push({
        headers: request.headers,
        rawBody: Buffer.concat(chunks).toString('utf8'),
        path: request.url ?? '',
      });
      const { status, delayMs = 0, body = '' } = respond(index);
      setTimeout(() => response.writeHead(status, { location: '/elsewhere' }).end(body), delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    received,
    answerWith(next: Answer) {
      respond = next;
    },
    /** Resolves once `count` requests have arrived. */
    async waitFor(count: number, timeoutMs = 20_000): Promise<ReceivedDelivery[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`the receiver got ${received.length} of ${count} requests`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
