import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { JobsRepository } from '../../store/jobs-repository.js';
import type { EventHub } from '../event-hub.js';
import { createJobStream } from '../job-stream.js';
import type { JobsService } from '../jobs-service.js';
import { parseRequest } from '../validation.js';

export interface EventRoutesDeps {
  jobs: JobsService;
  repository: Pick<JobsRepository, 'find' | 'historyPages'>;
  hub: EventHub;
  /** A client whose unsent data passes this many bytes is disconnected instead of growing memory. */
  maxBufferedBytes: number;
  /** How long a replay waits for a client to read what it was sent before giving up on it. */
  slowClientMs: number;
}

const eventsQuery = z.strictObject({
  since: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(0),
});

// Close codes: 1000 normal (job finished), 1001 server going away, 1003 we take no messages,
// 1008 too slow, 1013 try again later (Redis unreachable).
// The close frame queues behind everything unsent, so a client that never reads is cut off
// shortly after instead of holding memory until the close handshake times out.
function cutOff(socket: WebSocket): void {
  socket.close(1008, 'client is not reading fast enough');
  setTimeout(() => socket.terminate(), 1000).unref();
}

function guardedSend(socket: WebSocket, maxBufferedBytes: number, message: object): void {
  if (socket.readyState !== socket.OPEN) return;
  if (socket.bufferedAmount > maxBufferedBytes) {
    cutOff(socket);
    return;
  }
  socket.send(JSON.stringify(message));
}

function refuseMessages(socket: WebSocket): void {
  socket.on('message', () => socket.close(1003, 'this stream takes no messages'));
}

// Waits until the client has read most of what it was sent; cuts it off if it does not in time.
async function drained(socket: WebSocket, maxBufferedBytes: number, slowClientMs: number): Promise<void> {
  const deadline = Date.now() + slowClientMs;
  while (socket.readyState === socket.OPEN && socket.bufferedAmount > maxBufferedBytes / 2) {
    if (Date.now() > deadline) {
      cutOff(socket);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function eventRoutes(
  app: FastifyInstance,
  { jobs, repository, hub, maxBufferedBytes, slowClientMs }: EventRoutesDeps,
): void {
  const streams = new Set<{ resync(): Promise<void> }>();
  hub.onReconnect(() => {
    for (const stream of streams) void stream.resync().catch(() => undefined);
  });

  // Checked before the upgrade, so an unknown job is a plain 404 (and a bad id a 400).
  const jobMustExist = async (request: FastifyRequest<{ Params: { id: string } }>, _reply: FastifyReply) => {
    parseRequest(eventsQuery, request.query);
    await jobs.get(request.params.id);
  };

  app.get<{ Params: { id: string } }>(
    '/jobs/:id/events',
    { websocket: true, preValidation: jobMustExist },
    (socket, request) => {
      const { since } = parseRequest(eventsQuery, request.query);
      refuseMessages(socket);
      const stream = createJobStream({
        jobId: request.params.id.toLowerCase(),
        since,
        jobs: repository,
        hub,
        send: (message) => guardedSend(socket, maxBufferedBytes, message),
        drain: () => drained(socket, maxBufferedBytes, slowClientMs),
        finish: () => socket.close(1000, 'job finished'),
      });
      streams.add(stream);
      socket.on('close', () => {
        streams.delete(stream);
        void stream.stop();
      });
      stream.start().catch((error: unknown) => {
        request.log.warn({ err: error }, 'event stream failed');
        socket.close(1013, 'events are unavailable right now; reconnect with ?since=<last step>');
      });
    },
  );

  app.get('/events', { websocket: true }, (socket, request) => {
    refuseMessages(socket);
    let seq = 0;
    let unsubscribe: (() => Promise<void>) | undefined;
    let closed = false;
    socket.on('close', () => {
      closed = true;
      void unsubscribe?.();
    });
    hub
      .subscribeAll((event) => {
        seq += 1;
        guardedSend(socket, maxBufferedBytes, { seq, ...event });
      })
      .then(
        (stop) => {
          unsubscribe = stop;
          if (closed) void stop();
        },
        (error: unknown) => {
          request.log.warn({ err: error }, 'event stream failed');
          socket.close(1013, 'events are unavailable right now; reconnect later');
        },
      );
  });
}
