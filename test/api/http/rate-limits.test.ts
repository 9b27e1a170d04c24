import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../../src/api/http/app.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createEventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import { createSubmissionQuota, type Limits } from '../../../src/api/http/quotas.js';
import { createRateLimiter } from '../../../src/api/http/rate-limiter.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import { datasets } from '../../../src/domain/datasets.js';
import { specParameterCount, totalSteps } from '../../../src/domain/model-shape.js';
import { redactPaths, type Logger } from '../../../src/logger.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { bearer, generousLimits, requiredAccess, testKeys } from '../../helpers/access.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuePrefix, redisUrl, silentLogger } from '../../helpers/env.js';
import { parsedSmallSpec, smallSpec } from '../../helpers/specs.js';
import { startOwnRedis } from '../../helpers/own-services.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';

describe('rate limits, quotas and key hygiene', () => {
  let database: TestDatabase;
  let redis: Redis;
  let subscriber: Redis;
  const apps: FastifyInstance[] = [];

  /** An API process of its own (its own app, Redis connection and limiter) on a shared database and prefix. */
  function apiProcess(
    prefix: string,
    limits: Partial<Limits>,
    logger: Logger = silentLogger(),
    limiterRedisUrl = redisUrl,
  ): FastifyInstance {
    const jobs = createJobsRepository(database.prisma);
    const connection = createRedis(limiterRedisUrl, 'client');
    const all = { ...generousLimits, ...limits };
    const app = buildApp({
      logger,
      bodyLimit: 1024 * 1024,
      hub: createEventHub(subscriber, prefix),
      health: healthyChecks,
      jobs: createJobsService({
        jobs,
        ...idleQueue,
        maxParameters: 20_000_000,
        maxJobMemoryBytes: 2 * 1024 ** 3,
        logger,
        admit: createSubmissionQuota({
          limiter: createRateLimiter(connection, prefix),
          countActive: (owner) => jobs.countActive(owner),
          limits: all,
          logger,
        }),
      }),
      access: requiredAccess(database.prisma, connection, prefix, logger, { limits: all }),
      keys: testKeys(database.prisma),
    });
    app.addHook('onClose', () => connection.disconnect());
    // The limiter's connection fails fast while it connects (as the API's does), and an uncounted
    // hit is let through: wait for it before the first request, so every hit of a test counts.
    app.addHook('onReady', async () => {
      if (connection.status !== 'ready') await once(connection, 'ready');
    });
    apps.push(app);
    return app;
  }

  beforeAll(async () => {
    database = await createTestDatabase('limits');
    redis = createRedis(redisUrl, 'client');
    subscriber = createRedis(redisUrl, 'worker');
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    redis.disconnect();
    subscriber.disconnect();
    await database.drop();
  });

  it('holds the requests-per-key limit across two API processes, with Retry-After and the limit named', async () => {
    const prefix = queuePrefix('limits');
    const [first, second] = [
      apiProcess(prefix, { requestsPerKeyPerMinute: 5 }),
      apiProcess(prefix, { requestsPerKeyPerMinute: 5 }),
    ];
    const { key } = await testKeys(database.prisma).issue('alice', 'viewer');
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (const app of [first, second, first, second, first, second]) {
      const answer = await app.inject({ method: 'GET', url: '/jobs', headers: bearer(key) });
      statuses.push(answer.statusCode);
      remaining.push(String(answer.headers['ratelimit-remaining']));
      expect(answer.headers['ratelimit-limit']).toBe('5');
      expect(Number(answer.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
      expect(Number(answer.headers['ratelimit-reset'])).toBeLessThanOrEqual(60);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    // Counted across both processes, so a client can slow down before the 429.
    expect(remaining).toEqual(['4', '3', '2', '1', '0', '0']);
    const refused = await first.inject({ method: 'GET', url: '/jobs', headers: bearer(key) });
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.headers['ratelimit-reset']).toBe(refused.headers['retry-after']);
    expect(refused.json<ErrorBody>()).toMatchObject({ code: 'rate_limited' });
    expect(refused.json<ErrorBody>().error).toMatch(/requests per API key \(at most 5 per minute\)/);
    // Another key has a window of its own.
    const other = await testKeys(database.prisma).issue('alice', 'viewer');
    expect((await second.inject({ method: 'GET', url: '/jobs', headers: bearer(other.key) })).statusCode).toBe(200);
  });

  it('sends the counting script once per connection and reloads it by itself after Redis forgets it', async () => {
    const prefix = queuePrefix('limits');
    // A Redis of its own: on the shared one, another file's limiter may load the same script between
    // the flush and this test's next hit, which then never sees NOSCRIPT.
    const own = await startOwnRedis();
    const ownRedis = createRedis(own.url, 'client');
    const app = apiProcess(prefix, { requestsPerKeyPerMinute: 100 }, silentLogger(), own.url);
    const { key } = await testKeys(database.prisma).issue('scripted', 'viewer');
    const get = () => app.inject({ method: 'GET', url: '/jobs', headers: bearer(key) });
    const monitor = await ownRedis.monitor();
    const commands: string[] = [];
    // Keep the limiter's hits under this test's prefix, and the flush (the monitor sees every command).
    monitor.on('monitor', (_time: string, args: string[]) => {
      const command = args[0]?.toLowerCase() ?? '';
      const ours = args.slice(1).some((arg) => String(arg).startsWith(`${prefix}:limit:`));
      if ((command.startsWith('eval') && ours) || (command === 'script' && args[1]?.toLowerCase() === 'flush'))
        commands.push(command);
    });
    try {
      for (let i = 0; i < 3; i++) expect((await get()).headers['ratelimit-remaining']).toBe(String(99 - i));
      await ownRedis.script('FLUSH');
      expect((await get()).headers['ratelimit-remaining']).toBe('96');
      expect((await get()).headers['ratelimit-remaining']).toBe('95');
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      monitor.disconnect();
      apps.splice(apps.indexOf(app), 1);
      await app.close();
      ownRedis.disconnect();
      await own.stop();
    }
    // EVALSHA for every hit; the whole script (EVAL) only where Redis answered NOSCRIPT: the first
    // hit on this connection (if the script was not loaded yet) and the first after the flush.
    // The whole script goes at most once before the flush (ioredis sends EVAL where it has not
    // loaded the script on this connection yet), then only its SHA-1; after the flush Redis answers
    // the SHA with NOSCRIPT and ioredis sends the script once more by itself.
    const flushed = commands.indexOf('script');
    expect(commands.slice(0, flushed).filter((command) => command === 'eval').length).toBeLessThanOrEqual(1);
    expect(commands.slice(0, flushed).filter((command) => command === 'evalsha').length).toBeGreaterThanOrEqual(2);
    expect(commands.slice(flushed + 1)).toEqual(['evalsha', 'eval', 'evalsha']);
  });

  it('limits job submissions per owner per minute across processes, whichever key of the owner submits', async () => {
    const prefix = queuePrefix('limits');
    const [first, second] = [
      apiProcess(prefix, { submissionsPerOwnerPerMinute: 2 }),
      apiProcess(prefix, { submissionsPerOwnerPerMinute: 2 }),
    ];
    const keys = testKeys(database.prisma);
    const [laptop, ci] = [await keys.issue('subby', 'member'), await keys.issue('subby', 'member')];
    const submit = (app: FastifyInstance, key: string) =>
      app.inject({ method: 'POST', url: '/jobs', payload: smallSpec(), headers: bearer(key) });
    expect((await submit(first, laptop.key)).statusCode).toBe(201);
    expect((await submit(second, ci.key)).statusCode).toBe(201);
    const refused = await submit(first, ci.key);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.json<ErrorBody>().error).toMatch(/job submissions per owner \(subby\) \(at most 2 per minute\)/);
    // Invalid specs are not submissions and do not count.
    const invalid = await first.inject({
      method: 'POST',
      url: '/jobs',
      payload: { epochs: -1 },
      headers: bearer(laptop.key),
    });
    expect(invalid.statusCode).toBe(400);
  });

  it('refuses a job past the queued-plus-running quota of its owner, with the numbers', async () => {
    const app = apiProcess(queuePrefix('limits'), { activeJobsPerOwner: 3 });
    const jobs = createJobsRepository(database.prisma);
    const spec = parsedSmallSpec();
    for (let index = 0; index < 3; index += 1) {
      const job = {
        id: randomUUID(),
        spec,
        parameterCount: specParameterCount(spec, datasets.mnist),
        totalSteps: totalSteps(spec, datasets.mnist),
      };
      await jobs.create({ ...job, owner: 'busy' });
    }
    const { key } = await testKeys(database.prisma).issue('busy', 'member');
    const refused = await app.inject({ method: 'POST', url: '/jobs', payload: smallSpec(), headers: bearer(key) });
    expect(refused.statusCode).toBe(429);
    expect(refused.json<ErrorBody>()).toEqual({
      code: 'quota_exceeded',
      error: 'quota exceeded: queued plus running jobs of owner busy is 3 of at most 3',
    });
    // Another owner is not affected.
    const other = await testKeys(database.prisma).issue('idle', 'member');
    const accepted = await app.inject({
      method: 'POST',
      url: '/jobs',
      payload: smallSpec(),
      headers: bearer(other.key),
    });
    expect(accepted.statusCode).toBe(201);
  });

  it('counts a fork against the same quota as a submission', async () => {
    const app = apiProcess(queuePrefix('limits'), { activeJobsPerOwner: 2 });
    const jobs = createJobsRepository(database.prisma);
    const { key } = await testKeys(database.prisma).issue('forker', 'member');
    const parent = await app.inject({ method: 'POST', url: '/jobs', payload: smallSpec(), headers: bearer(key) });
    const parentId = parent.json<{ id: string }>().id;
    // The parent keeps epoch 1 (its tensors are no matter here: nothing trains them).
    const artifact = await createPostgresArtifactStore(database.prisma).put([new Uint8Array([1, 2, 3, 4])]);
    const state = { version: 1, shuffleState: 1, epochLossSum: 0, weights: [], optimizer: [] };
    await jobs.keepCheckpoint(
      parentId,
      { epoch: 1, step: 32, artifactId: artifact.id, bytes: 4, state, score: 0.5 },
      3,
    );
    const fork = () =>
      app.inject({ method: 'POST', url: `/jobs/${parentId}/fork`, payload: { fromEpoch: 1 }, headers: bearer(key) });
    expect((await fork()).statusCode).toBe(201);
    const refused = await fork();
    expect(refused.statusCode).toBe(429);
    expect(refused.json<ErrorBody>().code).toBe('quota_exceeded');
  });

  it('slows repeated failed authentication from one address without locking out a valid key', async () => {
    const app = apiProcess(queuePrefix('limits'), { failedAuthPerAddressPerMinute: 3 });
    const { key } = await testKeys(database.prisma).issue('alice', 'viewer');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const guess = `trn_${randomUUID()}`;
      statuses.push((await app.inject({ method: 'GET', url: '/jobs', headers: bearer(guess) })).statusCode);
    }
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    const slowed = await app.inject({ method: 'GET', url: '/jobs' });
    expect(slowed.statusCode).toBe(429);
    expect(slowed.json<ErrorBody>().error).toMatch(/failed authentications per address/);
    expect(slowed.headers['retry-after']).toBeDefined();
    // Same address, valid key: served.
    expect((await app.inject({ method: 'GET', url: '/jobs', headers: bearer(key) })).statusCode).toBe(200);
  });

  it('never writes a key to the log, whatever the request carries', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ level: 'trace', redact: { paths: redactPaths, censor: '[redacted]' } }, sink);
    const app = apiProcess(queuePrefix('limits'), {}, logger);
    // Something that logs whole headers, as a careless hook or plugin might.
    app.addHook('onRequest', (request, _reply, done) => {
      request.log.info({ headers: request.headers }, 'request headers');
      done();
    });
    const adminKey = (await testKeys(database.prisma).issue('ops', 'admin')).key;
    const created = await app.inject({
      method: 'POST',
      url: '/keys',
      payload: { owner: 'zoe', role: 'member', name: 'laptop' },
      headers: bearer(adminKey),
    });
    const newKey = created.json<{ key: string }>().key;
    await app.inject({ method: 'GET', url: '/jobs', headers: bearer(newKey) });
    await app.inject({ method: 'POST', url: '/jobs', payload: smallSpec(), headers: bearer(newKey) });
    await app.inject({ method: 'GET', url: '/jobs', headers: bearer(`${newKey}x`) });
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    const socket = new WebSocket(`${address.replace('http', 'ws')}/events`, ['trainer', `bearer.${newKey}`]);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.terminate();
    const log = lines.join('');
    expect(log).toContain('request headers');
    expect(log).toContain('[redacted]');
    for (const key of [adminKey, newKey]) {
      expect(log).not.toContain(key);
      // Nor any recognisable part of it.
      expect(log).not.toContain(key.slice(4, 24));
    }
  });
});
