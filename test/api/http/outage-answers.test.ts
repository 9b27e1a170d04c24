import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/http/app.js';
import type { EventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import { localViewer } from '../../../src/domain/access.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import { DependencyUnavailable } from '../../../src/domain/errors.js';
import { createPrismaClient, type PrismaClient } from '../../../src/store/database.js';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { silentLogger } from '../../helpers/env.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';
import { smallSpec } from '../../helpers/specs.js';

const unsubscribed = () => Promise.resolve(() => Promise.resolve());
const quietHub: EventHub = { subscribeJob: unsubscribed, subscribeAll: unsubscribed, onReconnect: () => undefined };
const someJob = '00000000-0000-4000-8000-000000000000';

// A real Prisma client on a port where no Postgres listens: what the API meets while Postgres is down.
describe('answers while Postgres cannot be reached', () => {
  let prisma: PrismaClient;
  let app: FastifyInstance;
  let service: ReturnType<typeof createJobsService>;

  beforeAll(async () => {
    prisma = createPrismaClient('postgresql://postgres@127.0.0.1:1/nowhere', { poolSize: 1 });
    service = createJobsService({
      jobs: createJobsRepository(prisma),
      ...idleQueue,
      maxParameters: 20_000_000,
      maxJobMemoryBytes: 2 * 1024 ** 3,
      logger: silentLogger(),
    });
    app = buildApp({
      logger: silentLogger(),
      bodyLimit: 1024 * 1024,
      hub: quietHub,
      health: healthyChecks,
      jobs: service,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await prisma.$disconnect();
  });

  it('the service throws DependencyUnavailable, not the driver error', async () => {
    await expect(service.get(localViewer, someJob)).rejects.toBeInstanceOf(DependencyUnavailable);
    await expect(service.list(localViewer, { sort: 'created', order: 'desc', limit: 5 })).rejects.toMatchObject({
      dependency: 'database',
    });
  });

  it('every route that reads or writes jobs answers 503 database_unavailable with Retry-After', async () => {
    for (const [method, url] of [
      ['GET', `/jobs/${someJob}`],
      ['GET', '/jobs'],
      ['GET', `/jobs/${someJob}/history`],
      ['POST', `/jobs/${someJob}/cancel`],
      ['GET', `/compare?ids=${someJob},11111111-1111-4111-8111-111111111111`],
      ['POST', '/jobs'],
    ] as const) {
      const response = await app.inject({
        method,
        url,
        ...(method === 'POST' && url === '/jobs' ? { payload: smallSpec() } : {}),
      });
      expect({ url, status: response.statusCode }).toEqual({ url, status: 503 });
      expect(response.headers['retry-after']).toBe('5');
      expect(response.json<ErrorBody>()).toEqual({
        code: 'database_unavailable',
        error: 'the database (Postgres) is unavailable right now; try again shortly',
      });
    }
  });
});
