import { keyedRoute } from '../http/keyed-route.js';
import { bodyCheckedByService } from '../http/validation.js';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { errorBody } from '../http/common-schemas.js';
import { sweepEventMessage, sweepIdParams, sweepList, sweepListQuery, sweepSpecBody, sweepView } from './schemas.js';
import type { EventHub } from '../streams/event-hub.js';
import { streamSweep } from '../streams/sweep-stream.js';
import type { SweepsService } from './sweeps-service.js';

const badId = errorBody.describe('The id is not a UUID');
const unknownSweep = errorBody.describe('No sweep has this id');

type App = Parameters<FastifyPluginCallbackZod>[0];

function writeRoutes(app: App, sweeps: SweepsService): void {
  app.post(
    '/sweeps',
    keyedRoute(
      'write',
      {
        operationId: 'createSweep',
        tags: ['sweeps'],
        summary: 'Start a hyperparameter sweep',
        description:
          "Validates the sweep and every configuration it generates with the job-spec schema, stores it as the key's owner's, and lets a worker launch its runs (ordinary jobs of that owner, at most maxParallel queued or running, and no more than the owner's quota of active jobs allows). The same spec and seed give the same configurations in the same order.",
        body: sweepSpecBody,
        response: {
          201: sweepView.describe('The sweep, running; Location names it'),
          400: errorBody.describe('An invalid sweep: `issues` names every bad field, a parameter by its path'),
          413: errorBody.describe('The body is over the size limit'),
          415: errorBody.describe('The body is not JSON'),
        },
      },
      {
        // The sweeps service validates the body (its errors name parameters by path); the schema documents it.
        validatorCompiler: bodyCheckedByService,
      },
    ),
    async (request, reply) => {
      const sweep = await sweeps.create(request.viewer, request.body);
      return reply.status(201).header('location', `/sweeps/${sweep.id}`).send(sweep);
    },
  );

  app.post(
    '/sweeps/:id/cancel',
    keyedRoute('write', {
      operationId: 'cancelSweep',
      tags: ['sweeps'],
      summary: 'Cancel a sweep',
      description: 'Stops launching runs and cancels its queued and running runs (reason "sweep cancelled").',
      params: sweepIdParams,
      response: {
        200: sweepView,
        400: badId,
        404: unknownSweep,
        409: errorBody.describe('The sweep has already ended'),
      },
    }),
    async (request) => sweeps.cancel(request.viewer, request.params.id),
  );
}

function readRoutes(app: App, sweeps: SweepsService): void {
  app.get(
    '/sweeps',
    keyedRoute('read', {
      operationId: 'listSweeps',
      tags: ['sweeps'],
      summary: 'List sweeps',
      description:
        "Newest first, a page at a time (`limit`, then `cursor`): status, counts by run status and the best run so far. Only the key's owner's sweeps, or every owner's for an admin, who may filter by owner.",
      querystring: sweepListQuery,
      response: { 200: sweepList, 400: errorBody.describe('A bad query parameter') },
    }),
    async (request) => {
      const { owner, cursor, limit } = request.query;
      return sweeps.list(request.viewer, { limit, ...(owner ? { owner } : {}), ...(cursor ? { cursor } : {}) });
    },
  );

  app.get(
    '/sweeps/:id',
    keyedRoute('read', {
      operationId: 'getSweep',
      tags: ['sweeps'],
      summary: 'Get a sweep',
      description:
        'Status, counts by run status, the best run with its parameters, a leaderboard by the objective, each parameter’s spread of the objective, and the epochs early termination saved.',
      params: sweepIdParams,
      response: { 200: sweepView, 400: badId, 404: unknownSweep },
    }),
    async (request) => sweeps.get(request.viewer, request.params.id),
  );
}

function eventsRoute(app: App, sweeps: SweepsService, options: SweepStreamTiming): void {
  app.get(
    '/sweeps/:id/events',
    {
      websocket: true,
      config: { access: 'read' },
      schema: {
        operationId: 'streamSweepEvents',
        tags: ['sweeps'],
        summary: "Stream a sweep's events (WebSocket)",
        description:
          'A WebSocket (GET with Upgrade: websocket). Replays what happened so far, then streams: run-started, run-finished, run-stopped (with the rule and reason), new-best, and sweep-finished, after which it closes with 1000.',
        params: sweepIdParams,
        response: {
          101: {
            description: 'Switching Protocols: the connection becomes a WebSocket that carries these messages as JSON',
            content: { 'application/json': { schema: sweepEventMessage } },
          },
          400: badId,
          404: unknownSweep,
        },
      },
      preHandler: async (request: FastifyRequest<{ Params: { id: string } }>) => {
        await sweeps.get(request.viewer, request.params.id);
      },
    },
    (socket, request) =>
      streamSweep(socket, {
        read: () => sweeps.get(request.viewer, request.params.id),
        ...(options.hub ? { hub: options.hub } : {}),
        pollMs: options.pollMs ?? 500,
        fallbackMs: options.fallbackMs ?? 2000,
        maxBufferedBytes: options.maxBufferedBytes,
        log: request.log,
      }),
  );
}

interface SweepStreamTiming {
  /** The job events of every job, which wake a sweep's stream; without it the stream polls every `pollMs`. */
  hub?: Pick<EventHub, 'subscribeAll'>;
  pollMs?: number;
  /** With `hub`: how often a stream reads Postgres even without events (2 s by default). */
  fallbackMs?: number;
  /** Unsent bytes a stream's client may have before it is closed (see ws-outbox.ts). */
  maxBufferedBytes: number;
}

export const sweepRoutes: FastifyPluginCallbackZod<{ sweeps: SweepsService } & SweepStreamTiming> = (
  app,
  { sweeps, ...timing },
  done,
) => {
  // As for the job streams: @fastify/websocket hides its routes from OpenAPI; this one is part of the API.
  app.addHook('onRoute', (route) => {
    if (route.websocket && route.method === 'GET' && route.schema) route.schema.hide = false;
  });
  writeRoutes(app, sweeps);
  readRoutes(app, sweeps);
  eventsRoute(app, sweeps, timing);
  done();
};
