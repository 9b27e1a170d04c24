import type { FastifyRequest } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import type { WebSocket } from 'ws';
import type { JobEvent } from '../../events/job-events.js';
import type { EventHub } from './event-hub.js';
import { createJobStream } from './job-stream.js';
import type { JobsService } from '../jobs/jobs-service.js';
import { createOutbox } from './ws-outbox.js';
import { commonErrors, errorBody, jobIdParams } from '../http/common-schemas.js';
import { allJobsMessage, eventsQuery, jobStreamMessage } from './schemas.js';

export interface EventRoutesDeps {
  jobs: JobsService;
  hub: EventHub;
  /** A client whose unsent data passes this many bytes is disconnected instead of growing memory (WS_MAX_BUFFERED_BYTES). */
  maxBufferedBytes: number;
  /** How long a replay waits for a client to read what it was sent before giving up on it. */
  slowClientMs: number;
}

type App = Parameters<FastifyPluginCallbackZod>[0];
type Resyncable = { resync(): Promise<void> };

// Close codes: 1000 normal (job finished), 1001 server going away, 1003 we take no messages,
// 1008 too slow (see ws-outbox.ts), 1013 try again later (Redis unreachable).

function refuseMessages(socket: WebSocket): void {
  socket.on('message', () => socket.close(1003, 'this stream takes no messages'));
}

const upgrade = {
  description:
    'Switching Protocols: the connection becomes a WebSocket that carries these messages as JSON text frames',
};

function jobEventsRoute(app: App, deps: EventRoutesDeps, streams: Set<Resyncable>): void {
  const { jobs, hub, maxBufferedBytes, slowClientMs } = deps;
  app.get(
    '/jobs/:id/events',
    {
      websocket: true,
      config: { access: 'read' },
      schema: {
        operationId: 'streamJobEvents',
        tags: ['streams'],
        summary: "Stream a job's events (WebSocket)",
        description:
          'A WebSocket (GET with Upgrade: websocket). Replays what happened so far (steps after `since`), then streams live: steps batched every ~250 ms, epoch metrics, status changes. Closes with 1000 after the final status, 1008 when the client reads too slowly, 1013 when events are unavailable (reconnect with ?since=<last step>).',
        params: jobIdParams,
        querystring: eventsQuery,
        response: {
          101: { ...upgrade, content: { 'application/json': { schema: jobStreamMessage } } },
          400: errorBody.describe('A bad id or `since`'),
          404: errorBody.describe('No job has this id'),
        },
      },
      // Checked before the upgrade (and after the query is validated), so an unknown job is a plain 404.
      preHandler: async (request: FastifyRequest<{ Params: { id: string } }>) => {
        await jobs.visibleJob(request.viewer, request.params.id);
      },
    },
    (socket, request) => {
      refuseMessages(socket);
      const outbox = createOutbox(socket, { maxBufferedBytes, slowClientMs });
      const stream = createJobStream({
        jobId: request.params.id.toLowerCase(),
        since: request.query.since,
        jobs,
        hub,
        send: (message) => void outbox.send(message),
        drain: () => outbox.drained(),
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
}

function allEventsRoute(app: App, { jobs, hub, maxBufferedBytes, slowClientMs }: EventRoutesDeps): void {
  const schema = {
    operationId: 'streamAllJobEvents',
    tags: ['streams'],
    summary: 'Stream status and epoch events of every job (WebSocket)',
    description:
      'A WebSocket (GET with Upgrade: websocket) carrying the status changes and epoch metrics of every job the key may see, live; no steps.',
    response: {
      101: { ...upgrade, content: { 'application/json': { schema: allJobsMessage } } },
      500: commonErrors[500],
    },
  };
  app.get('/events', { websocket: true, config: { access: 'read' }, schema }, (socket, request) => {
    refuseMessages(socket);
    const outbox = createOutbox(socket, { maxBufferedBytes, slowClientMs });
    let seq = 0;
    let unsubscribe: (() => Promise<void>) | undefined;
    let closed = false;
    socket.on('close', () => {
      closed = true;
      void unsubscribe?.();
    });
    const send = (event: object) => {
      seq += 1;
      outbox.send({ seq, ...event });
    };
    const { viewer } = request;
    // Events of jobs this viewer may not see are dropped; a chain keeps the rest in order.
    let delivered = Promise.resolve();
    const sendVisible = (event: JobEvent) => {
      delivered = delivered.then(async () => {
        if (await jobs.canSee(viewer, event.jobId).catch(() => false)) send(event);
      });
    };
    hub.subscribeAll(sendVisible).then(
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

export const eventRoutes: FastifyPluginCallbackZod<EventRoutesDeps> = (app, deps, done) => {
  // @fastify/websocket hides its routes from the OpenAPI document; these are part of the API, so
  // they are documented as GET operations (this hook runs after that plugin's, on these routes only).
  app.addHook('onRoute', (route) => {
    if (route.websocket && route.method === 'GET' && route.schema) route.schema.hide = false;
  });
  const streams = new Set<Resyncable>();
  deps.hub.onReconnect(() => {
    for (const stream of streams) void stream.resync().catch(() => undefined);
  });
  jobEventsRoute(app, deps, streams);
  allEventsRoute(app, deps);
  done();
};
