import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrismaClient, type PrismaClient } from '../../../src/store/database.js';
import { healthyChecks } from '../../helpers/stand-ins.js';
import { appWithoutStore } from '../http/app-stand-ins.js';

// A real Prisma client on a port where no Postgres listens: what the API meets while Postgres is down.
describe('GET /health/live while Postgres cannot be reached', () => {
  let prisma: PrismaClient;
  let app: FastifyInstance;

  beforeAll(async () => {
    prisma = createPrismaClient('postgresql://postgres@127.0.0.1:1/nowhere', { poolSize: 1 });
    app = appWithoutStore({
      health: {
        ...healthyChecks,
        database: async () => {
          await prisma.$queryRaw`SELECT 1`;
        },
      },
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await prisma.$disconnect();
  });

  it('answers 200 while /health answers 503, so a liveness probe does not restart the API', async () => {
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toMatchObject({ status: 'unavailable', database: { ok: false } });

    const live = await app.inject({ method: 'GET', url: '/health/live' });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'ok' });
  });

  it('is in the OpenAPI document, open to callers without a key', async () => {
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      paths: Record<string, { get?: { responses: Record<string, unknown> } }>;
    }>();
    expect(Object.keys(document.paths['/health/live']?.get?.responses ?? {})).toEqual(['200']);
    expect(app.accessTable().find((route) => route.url === '/health/live')?.access).toBe('public');
  });
});
