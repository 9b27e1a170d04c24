import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { JobEvent } from '../../events/job-events.js';
import type { EventHub } from './event-hub.js';
import { nothingSeen, sweepEvents } from './sweep-events.js';
import type { SweepView } from '../sweeps/sweep-view.js';
import { createOutbox } from './ws-outbox.js';

export interface SweepStreamOptions {
  /** The sweep as Postgres has it now: the record, which every message is a difference of. */
  read: () => Promise<SweepView>;
  /** The job events of every job; without it, or while Redis cannot subscribe, the stream polls. */
  hub?: Pick<EventHub, 'subscribeAll'>;
  /** How often to read when there are no events to wake the stream. */
  pollMs: number;
  /** With events: how often to read anyway, for what no job event announces (the driver ending the sweep) or an event lost. */
  fallbackMs: number;
  log: FastifyBaseLogger;
  /** A client whose unsent messages pass this many bytes is closed (1008) instead of growing memory. */
  maxBufferedBytes: number;
}

/** Whether a job event may change what a sweep's stream shows: a status or epoch of one of its runs, or a new run. */
function concerns(event: JobEvent, runs: ReadonlyMap<string, string>): boolean {
  if (event.type === 'steps') return false;
  return runs.has(event.jobId) || (event.type === 'status' && event.status === 'queued');
}

/**
 * Feeds a sweep's WebSocket: replays from Postgres, then reads Postgres again whenever a job event of
 * one of its runs comes through Redis (and every `fallbackMs` regardless), sending the differences,
 * until the sweep ends. Redis only says when to look; what is sent is always read from the record.
 */
export function streamSweep(socket: WebSocket, options: SweepStreamOptions): void {
  const seen = nothingSeen();
  let seq = 0;
  let timer: NodeJS.Timeout | undefined;
  let reading = false;
  let again = false;
  let interval = options.pollMs;
  let unsubscribe: (() => Promise<void>) | undefined;
  const open = () => socket.readyState === socket.OPEN;
  // Nothing here waits for the client to read (a sweep's messages are few), so no slowness to allow.
  const outbox = createOutbox(socket, { maxBufferedBytes: options.maxBufferedBytes, slowClientMs: 0 });

  const fail = (error: unknown) => {
    options.log.warn({ err: error }, 'sweep event stream failed');
    socket.close(1013, 'events are unavailable right now; reconnect later');
  };

  async function refresh(): Promise<void> {
    // An event during a read asks for one more read after it, not for reads side by side.
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    clearTimeout(timer);
    try {
      do {
        again = false;
        for (const event of sweepEvents(await options.read(), seen)) if (open()) outbox.send({ seq: ++seq, ...event });
      } while (again && !seen.finished && open());
    } finally {
      reading = false;
    }
    if (seen.finished) socket.close(1000, 'sweep finished');
    else if (open()) timer = setTimeout(() => void refresh().catch(fail), interval);
  }

  async function subscribe(hub: NonNullable<SweepStreamOptions['hub']>): Promise<void> {
    try {
      unsubscribe = await hub.subscribeAll((event) => {
        if (concerns(event, seen.statuses)) void refresh().catch(fail);
      });
      interval = options.fallbackMs;
      if (!open()) await unsubscribe();
    } catch (error) {
      options.log.warn({ err: error }, 'no sweep events from Redis; polling Postgres instead');
    }
  }

  socket.on('message', () => socket.close(1003, 'this stream takes no messages'));
  socket.on('close', () => {
    clearTimeout(timer);
    void unsubscribe?.();
  });
  // Subscribed before the first read: what happened before is in that read, what happens after is announced.
  void (options.hub ? subscribe(options.hub) : Promise.resolve()).then(refresh).catch(fail);
}
