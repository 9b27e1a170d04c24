import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/http/app.js';
import { createSweepsService } from '../../../src/api/sweeps/sweeps-service.js';
import type { SweepsRepository } from '../../../src/store/sweeps/sweeps-repository.js';
import type { EventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import { createModelsService, noEvaluations } from '../../../src/api/models/models-service.js';
import type { ArtifactStore } from '../../../src/store/artifacts/artifact-store.js';
import type { JobsRepository } from '../../../src/store/jobs-repository.js';
import { silentLogger } from '../../helpers/env.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';

interface Operation {
  summary?: string;
  description?: string;
  parameters?: { in: string; name: string; example?: unknown; schema?: { examples?: unknown[] } }[];
  requestBody?: { content: Record<string, { example?: unknown; examples?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type OpenApiDocument = { openapi: string; paths: Record<string, Record<string, Operation>> };

// Only the document is read here: nothing reaches the store or Redis.
const unusedStore = {} as JobsRepository;
const unsubscribed = () => Promise.resolve(() => Promise.resolve());
const quietHub: EventHub = { subscribeJob: unsubscribed, subscribeAll: unsubscribed, onReconnect: () => undefined };

describe('the OpenAPI document', () => {
  let app: FastifyInstance;
  const routes: Pick<RouteOptions, 'method' | 'url' | 'schema'>[] = [];
  let document: OpenApiDocument;

  beforeAll(async () => {
    app = buildApp({
      logger: silentLogger(),
      bodyLimit: 1024 * 1024,
      hub: quietHub,
      health: healthyChecks,
      jobs: createJobsService({
        jobs: unusedStore,
        ...idleQueue,
        maxParameters: 20_000_000,
        maxJobMemoryBytes: 2 * 1024 ** 3,
        logger: silentLogger(),
      }),
      models: createModelsService({
        jobs: unusedStore,
        models: { find: () => Promise.resolve(null) },
        artifacts: {} as ArtifactStore,
        predict: () => Promise.reject(new Error('not used')),
        evaluations: noEvaluations,
      }),
      sweeps: createSweepsService({
        sweeps: {} as SweepsRepository,
        jobs: { cancel: () => Promise.reject(new Error('unused')), compare: () => Promise.reject(new Error('unused')) },
        limits: { maxParameters: 20_000_000 },
        logger: silentLogger(),
      }),
    });
    // Routes are added when the app's plugins load, after this hook is in place.
    app.addHook('onRoute', (route) => {
      routes.push(route);
    });
    await app.ready();
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    document = response.json<OpenApiDocument>();
  });
  afterAll(() => app.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('lists every route the app registers, each with a summary and its success and error responses', () => {
    // HEAD routes are fastify's automatic twins of GET ones; hidden ones are /docs's own files.
    const registered = routes
      .flatMap((route) =>
        (Array.isArray(route.method) ? route.method : [route.method]).map((method) => ({ ...route, method })),
      )
      .filter((route) => route.method !== 'HEAD' && !route.schema?.hide)
      .map((route) => `${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(registered.length).toBeGreaterThanOrEqual(10);
    expect(documented.sort()).toEqual([...new Set(registered)].sort());
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        expect(operation.summary, name).toBeTruthy();
        const statuses = Object.keys(operation.responses);
        expect(
          statuses.some((status) => /^[12]\d\d$/.test(status)),
          name,
        ).toBe(true);
        // These two answer nothing but 200: the document itself, and the liveness probe.
        if (name !== 'GET /openapi.json' && name !== 'GET /health/live')
          expect(
            statuses.some((status) => /^[45]\d\d$/.test(status)),
            name,
          ).toBe(true);
      }
    }
  });

  it('gives every operation that takes input an example request', () => {
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const inputs = [...(operation.parameters ?? []), ...(operation.requestBody ? ['body'] : [])];
        if (inputs.length === 0) continue;
        const bodyExample = Object.values(operation.requestBody?.content ?? {}).some(
          (media) => media.example !== undefined || media.examples !== undefined,
        );
        const parameterExample = (operation.parameters ?? []).some(
          (parameter) => parameter.example !== undefined || (parameter.schema?.examples?.length ?? 0) > 0,
        );
        expect(bodyExample || parameterExample, `${method.toUpperCase()} ${path}`).toBe(true);
      }
    }
  });

  it('documents the WebSocket routes as GET operations with a description', () => {
    for (const path of ['/jobs/{id}/events', '/events']) {
      expect(document.paths[path]?.get?.description, path).toMatch(/WebSocket/);
    }
  });

  it('serves an interactive reference at /docs', async () => {
    const response = await app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/text\/html/);
  });
});
