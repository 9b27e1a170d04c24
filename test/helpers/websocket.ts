import WebSocket from 'ws';

export interface Recording {
  messages: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
  socket: WebSocket;
}

/** Connects and records every JSON message until the server closes the socket. */
export function record(url: string, headers: Record<string, string> = {}): Promise<Recording> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const messages: Record<string, unknown>[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.on('close', (code, reason) => done({ code, reason: reason.toString() })),
    );
    // Text frames arrive as one Buffer (no binaryType is set).
    socket.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString()) as Record<string, unknown>));
    socket.once('open', () => resolve({ messages, closed, socket }));
    socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
    socket.once('error', reject);
  });
}

/** Steps carried by `steps` messages, flattened in arrival order. */
export function stepsOf(messages: Record<string, unknown>[]): { step: number; epoch: number; loss: number }[] {
  return messages.flatMap((message) =>
    message.type === 'steps' ? (message.steps as { step: number; epoch: number; loss: number }[]) : [],
  );
}
