import { randomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../src/api/http/app.js';
import type { ErrorBody } from '../../src/api/http/common-schemas.js';
import { createEventHub } from '../../src/api/streams/event-hub.js';
import { createJobsService } from '../../src/api/jobs/jobs-service.js';
import { createEventPublisher } from '../../src/events/job-events.js';
import { createRedis, type Redis } from '../../src/queue/redis.js';
import { createJobsRepository } from '../../src/store/jobs-repository.js';
import { bearer, requiredAccess, testKeys } from '../helpers/access.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { queuePrefix, redisUrl, silentLogger } from '../helpers/env.js';
import { insertFinishedRun } from '../helpers/fixtures.js';
import { parseJobSpec } from '../../src/domain/job-spec.js';
import { smallSpec } from '../helpers/specs.js';
import { healthyChecks, idleQueue } from '../helpers/stand-ins.js';
import { record, stepsOf } from '../helpers/websocket.js';

// Malformed values of every kind JSON can carry, plus the ones that need special care in JS.
const nastyValue = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -1e308,
    5e-324,
    2 ** 53 + 1,
    '',
    ' ',
    'NaN',
    'Infinity',
    '__proto__',
    'constructor',
    '\u0000',
    '\ud800',
  ),
  fc.string({ maxLength: 50 }),
  fc.double(),
  fc.integer(),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.anything({ maxDepth: 2 }), { maxKeys: 5 }),
);

const fieldNames = [
  'name',
  'dataset',
  'seed',
  'trainSamples',
  'testSamples',
  'model',
  'epochs',
  'learningRate',
  'batchSize',
  'optimizer',
  'tags',
  '__proto__',
  'constructor',
  'prototype',
  'extra',
];
const layerFields = ['type', 'units', 'activation', 'rate', '__proto__', 'constructor'];

// A valid spec with one to three fields (at the top or in a layer) replaced by something nasty.
const brokenSpec = fc
  .tuple(
    fc.array(fc.tuple(fc.constantFrom(...fieldNames), nastyValue), { minLength: 1, maxLength: 3 }),
    fc.option(fc.tuple(fc.constantFrom(...layerFields), nastyValue)),
  )
  .map(([fields, layerField]) => {
    const spec = JSON.parse(JSON.stringify(smallSpec())) as Record<string, unknown> & {
      model: { layers: Record<string, unknown>[] };
    };
    for (const [field, value] of fields) spec[field] = value;
    if (layerField && spec.model && Array.isArray(spec.model.layers) && spec.model.layers[0]) {
      spec.model.layers[0][layerField[0]] = layerField[1];
    }
    return JSON.stringify(spec);
  })
  // Only bodies the spec rejects: a replacement can happen to be valid (a name, a small seed).
  .filter((body) => !parseJobSpec(JSON.parse(body), { maxParameters: 20_000_000 }).ok);

const deepNesting = fc.integer({ min: 100, max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
const deepObject = fc.integer({ min: 100, max: 3000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
const hugeArray = fc
  .integer({ min: 10_000, max: 100_000 })
  .map((length) =>
    JSON.stringify({ ...smallSpec(), model: { layers: Array(length).fill({ type: 'dense', units: 10 }) } }),
  );
const hugeString = fc
  .integer({ min: 1000, max: 500_000 })
  .map((length) => JSON.stringify({ ...smallSpec(), name: 'x'.repeat(length) }));
const garbageText = fc.string({ maxLength: 200 });
const unstorableText = fc.constantFrom(
  JSON.stringify({ ...smallSpec(), name: 'nul\u0000inside' }),
  JSON.stringify({ ...smallSpec(), tags: ['ok', 'lone \ud800 surrogate'] }),
  JSON.stringify({ ...smallSpec(), name: '\udc00' }),
);
const protoPayloads = fc.constantFrom(
  '{"__proto__": {"polluted": true}, "epochs": 1}',
  '{"constructor": {"prototype": {"polluted": true}}}',
  JSON.stringify({
    ...smallSpec(),
    model: { layers: [{ type: 'dense', units: 10, __proto__: { polluted: 1 } }] },
  }).replace('"units"', '"__proto__":{"x":1},"units"'),
);
const anyBody = fc.oneof(
  brokenSpec,
  deepNesting,
  deepObject,
  hugeArray,
  hugeString,
  garbageText,
  protoPayloads,
  unstorableText,
);
const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '',
  'application/json; charset=latin1',
);

// The same attacks with AUTH=off and with AUTH=required (as a member with a valid key, which gets
// past authentication: the input handling behind it is what is under test).
describe.each(['off', 'required'] as const)('hostile input with AUTH=%s', (mode) => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let auth: Record<string, string> = {};
  /** app.inject, with this mode's key; a request's own headers come after it. */
  const inject = (options: InjectOptions) =>
    app.inject({ ...options, headers: { ...auth, ...(options.headers as Record<string, string> | undefined) } });
  let redis: Redis;
  let subscriber: Redis;
  let address: string;
  let finishedJobId: string;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    database = await createTestDatabase('hostile');
    const jobs = createJobsRepository(database.prisma);
    const prefix = queuePrefix('hostile');
    redis = createRedis(redisUrl, 'client');
    subscriber = createRedis(redisUrl, 'worker');
    const publish = createEventPublisher(redis, prefix, () => undefined);
    if (mode === 'required') auth = bearer((await testKeys(database.prisma).issue('mallory', 'member')).key);
    app = buildApp({
      ...(mode === 'required'
        ? { access: requiredAccess(database.prisma, redis, prefix, silentLogger()), keys: testKeys(database.prisma) }
        : {}),
      logger: silentLogger(),
      bodyLimit: 1024 * 1024,
      hub: createEventHub(subscriber, prefix),
      // Small enough that a client which stops reading trips it within a few messages.
      maxBufferedBytes: 64 * 1024,
      slowClientMs: 1000,
      health: healthyChecks,
      jobs: createJobsService({
        jobs,
        ...idleQueue,
        publish,
        maxParameters: 20_000_000,
        maxJobMemoryBytes: 2 * 1024 ** 3,
        logger: silentLogger(),
      }),
    });
    address = await app.listen({ host: '127.0.0.1', port: 0 });
    // 180,000 steps: about 10 MB to replay, more than the kernel's socket buffers hold.
    finishedJobId = (
      await insertFinishedRun(jobs, { trainSamples: 60_000, batchSize: 1, epochs: 3 }, { accuracies: [0.5, 0.6, 0.7] })
    ).id;
    // The run is the key's owner's, so the requests about it get past visibility to the input checks.
    if (mode === 'required') {
      await database.prisma.job.update({ where: { id: finishedJobId }, data: { owner: 'mallory' } });
    }
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
    subscriber.disconnect();
    await database.drop();
  });

  it('answers at least 1,000 malformed bodies, content types and encodings with 4xx only', async () => {
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(anyBody, contentTypes, fc.boolean(), async (body, contentType, invalidUtf8) => {
        const payload = invalidUtf8
          ? Buffer.concat([Buffer.from(body.slice(0, 100)), Buffer.from([0xff, 0xfe, 0xc3, 0x28])])
          : body;
        const response = await inject({
          method: 'POST',
          url: '/jobs',
          payload,
          headers: contentType ? { 'content-type': contentType } : {},
        });
        sent += 1;
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        expect(response.statusCode, `${contentType} ${body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, `${contentType} ${body.slice(0, 200)}`).toBeLessThan(500);
        const parsed = JSON.parse(response.body) as { error?: unknown; stack?: unknown };
        expect(typeof parsed.error).toBe('string');
        expect(parsed.stack).toBeUndefined();
      }),
      { numRuns: 1200 },
    );
    expect(sent).toBeGreaterThanOrEqual(1000);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await database.prisma.job.count()).toBe(1);
  });

  it('rejects a body over the limit with 413 without reading it all', async () => {
    const response = await inject({
      method: 'POST',
      url: '/jobs',
      payload: 'x'.repeat(2 * 1024 * 1024),
      headers: { 'content-type': 'application/json' },
    });
    expect(response.statusCode).toBe(413);
  });

  it('answers malformed ids and query strings without a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ maxLength: 50, unit: 'binary' }),
          // Cursors that decode to JSON of the wrong shape.
          fc.constantFrom(
            'bnVsbA',
            Buffer.from(
              '{"key":1,"id":"------------------------------------","sort":"created","order":"desc"}',
            ).toString('base64url'),
            Buffer.from('[1,2]').toString('base64url'),
          ),
        ),
        fc.constantFrom(
          '/jobs/',
          '/jobs?status=',
          '/jobs?sort=',
          '/jobs?limit=',
          '/jobs?cursor=',
          '/jobs?name=',
          '/jobs?tag=',
          '/jobs?dataset=',
          '/compare?ids=',
          '/compare.svg?ids=',
          '/jobs/x/history?points=',
        ),
        async (value, route) => {
          const response = await inject({ method: 'GET', url: `${route}${encodeURIComponent(value)}` });
          expect(response.statusCode, `${route}${value}`).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts only plain decimal integers in numeric query parameters, naming the field otherwise', async () => {
    const other = '00000000-0000-4000-8000-000000000000';
    const numeric: [string, string][] = [
      ['/jobs?limit=', 'limit'],
      [`/jobs/${finishedJobId}/history?points=`, 'points'],
      [`/compare?ids=${finishedJobId},${other}&points=`, 'points'],
      [`/compare.svg?ids=${finishedJobId},${other}&points=`, 'points'],
      [`/jobs/${finishedJobId}/events?since=`, 'since'],
    ];
    for (const [route, field] of numeric) {
      for (const value of ['0x10', '1e2', ' 5', '+5', '5.0', '-0', '']) {
        const response = await inject({ method: 'GET', url: `${route}${encodeURIComponent(value)}` });
        expect({ url: `${route}${value}`, status: response.statusCode }).toEqual({
          url: `${route}${value}`,
          status: 400,
        });
        const body = response.json<ErrorBody>();
        expect(body.code).toBe('invalid_query');
        expect(body.issues?.map((issue) => issue.path)).toContain(field);
      }
    }
    expect((await inject({ method: 'GET', url: `/jobs/${finishedJobId}/history?points=10` })).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/jobs?limit=5' })).statusCode).toBe(200);
  });

  it('is healthy after all that', async () => {
    const response = await inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    const created = await inject({
      method: 'POST',
      url: '/jobs',
      payload: smallSpec(),
      headers: { 'content-type': 'application/json' },
    });
    expect(created.statusCode).toBe(201);
  });

  describe('WebSocket', () => {
    const connect = (path: string) => new WebSocket(`${address.replace('http', 'ws')}${path}`, { headers: auth });
    const closeOf = (socket: WebSocket) =>
      new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));

    it('refuses unknown and malformed job ids before upgrading', async () => {
      for (const [path, status] of [
        ['/jobs/00000000-0000-4000-8000-000000000000/events', 404],
        ['/jobs/garbage/events', 400],
        [`/jobs/${finishedJobId}/events?since=-1`, 400],
      ] as const) {
        const socket = connect(path);
        socket.on('error', () => undefined);
        const refused = await new Promise<number>((resolve) =>
          socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0)),
        );
        expect(refused).toBe(status);
        socket.terminate();
      }
    });

    it('closes with 1003 on a garbage frame and 1009 on an oversized one, and carries on', async () => {
      const garbage = connect('/events');
      await new Promise((resolve) => garbage.on('open', resolve));
      const garbageClosed = closeOf(garbage);
      garbage.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      expect(await garbageClosed).toBe(1003);

      const oversized = connect('/events');
      await new Promise((resolve) => oversized.on('open', resolve));
      const oversizedClosed = closeOf(oversized);
      oversized.send('x'.repeat(1024 * 1024));
      expect(await oversizedClosed).toBe(1009);

      expect((await inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    });

    it('replays a long history in full to a client that keeps reading, whatever the buffer bound', async () => {
      const recording = await record(`${address.replace('http', 'ws')}/jobs/${finishedJobId}/events`, auth);
      expect((await recording.closed).code).toBe(1000);
      const steps = stepsOf(recording.messages);
      expect(steps).toHaveLength(180_000);
      expect(steps.at(-1)?.step).toBe(180_000);
    });

    it('disconnects a client that stops reading once its buffer passes the bound', async () => {
      // A raw connection that completes the handshake and then reads nothing at all.
      const { port } = new URL(address);
      const raw = net.connect(Number(port), '127.0.0.1');
      raw.pause();
      raw.write(
        `GET /jobs/${finishedJobId}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          Object.entries(auth)
            .map(([name, value]) => `${name}: ${value}\r\n`)
            .join('') +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      const gone = new Promise<'disconnected'>((resolve) => raw.once('close', () => resolve('disconnected')));
      await new Promise((resolve) => setTimeout(resolve, 3000));
      // Drain what the kernel holds so the server's termination becomes visible.
      raw.on('data', () => undefined);
      raw.resume();
      const outcome = await Promise.race([
        gone,
        new Promise<'still connected'>((resolve) => setTimeout(() => resolve('still connected'), 10_000)),
      ]);
      raw.destroy();
      expect(outcome).toBe('disconnected');
      expect((await inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    });
  });
});
