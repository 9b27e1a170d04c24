import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKey, hashKey } from '../../../src/api/keys/api-keys.js';
import { buildApp } from '../../../src/api/http/app.js';
import { createEventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import { createKeyCache } from '../../../src/api/http/key-cache.js';
import { createKeysService } from '../../../src/api/keys/keys-service.js';
import { startApi } from '../../../src/main/start-api.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createApiKeysRepository, type ApiKeysRepository } from '../../../src/store/api-keys.js';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { bearer, requiredAccess } from '../../helpers/access.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuePrefix, redisUrl, silentLogger, testConfig } from '../../helpers/env.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';

/** The Postgres repository, counting the queries each method sends. */
function countingRepository(repository: ApiKeysRepository) {
  const queries = { findLive: 0, touch: 0 };
  const counted: ApiKeysRepository = {
    ...repository,
    findLive(keyHash) {
      queries.findLive++;
      return repository.findLive(keyHash);
    },
    touch(id) {
      queries.touch++;
      return repository.touch(id);
    },
  };
  return { queries, counted };
}

describe('the API key cache', () => {
  let database: TestDatabase;
  let redis: Redis;
  let subscriber: Redis;
  const apps: FastifyInstance[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('keycache');
    redis = createRedis(redisUrl, 'client');
    subscriber = createRedis(redisUrl, 'worker');
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    redis?.disconnect();
    subscriber?.disconnect();
    await database?.drop();
  });

  /** An app with AUTH=required whose key lookups go through `cache`, as start-api.ts wires it. */
  function appWith(repository: ApiKeysRepository, cache: ReturnType<typeof createKeyCache>): FastifyInstance {
    const prefix = queuePrefix('keycache');
    const app = buildApp({
      logger: silentLogger(),
      bodyLimit: 1024,
      hub: createEventHub(subscriber, prefix),
      health: healthyChecks,
      jobs: createJobsService({
        jobs: createJobsRepository(database.prisma),
        ...idleQueue,
        maxParameters: 1,
        maxJobMemoryBytes: 1,
        logger: silentLogger(),
      }),
      access: { ...requiredAccess(database.prisma, redis, prefix, silentLogger()), keys: cache },
      keys: createKeysService(repository, { onRevoked: (keyId) => cache.forget(keyId) }),
    });
    apps.push(app);
    return app;
  }

  async function storedKey(role: 'viewer' | 'admin' = 'viewer'): Promise<{ key: string; id: string }> {
    const key = generateKey();
    const id = randomUUID();
    await createApiKeysRepository(database.prisma).create({
      id,
      owner: 'alice',
      role,
      name: 'k',
      keyHash: hashKey(key),
    });
    return { key, id };
  }

  it('looks a key up once within the TTL and again after it, and records its use at most once a minute', async () => {
    const { queries, counted } = countingRepository(createApiKeysRepository(database.prisma));
    let clock = 0;
    const app = appWith(counted, createKeyCache(counted, { ttlMs: 5000, maxEntries: 100, now: () => clock }));
    const { key } = await storedKey();
    const whoami = async () => (await app.inject({ method: 'GET', url: '/whoami', headers: bearer(key) })).statusCode;

    // A burst of concurrent first requests shares one lookup.
    expect(await Promise.all(Array.from({ length: 5 }, whoami))).toEqual([200, 200, 200, 200, 200]);
    for (let request = 0; request < 20; request++) expect(await whoami()).toBe(200);
    clock += 4999;
    expect(await whoami()).toBe(200);
    expect(queries).toEqual({ findLive: 1, touch: 1 });

    clock += 2;
    expect(await whoami()).toBe(200);
    expect(queries).toEqual({ findLive: 2, touch: 1 });
    clock += 60_000;
    expect(await whoami()).toBe(200);
    expect(queries).toEqual({ findLive: 3, touch: 2 });
  });

  it('refuses a revoked key at once in the process that revoked it, long before the TTL', async () => {
    const repository = createApiKeysRepository(database.prisma);
    const app = appWith(repository, createKeyCache(repository, { ttlMs: 600_000, maxEntries: 100 }));
    const admin = await storedKey('admin');
    const revoked = await storedKey();
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: bearer(revoked.key) })).statusCode).toBe(200);

    const deleted = await app.inject({ method: 'DELETE', url: `/keys/${revoked.id}`, headers: bearer(admin.key) });
    expect(deleted.statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: bearer(revoked.key) })).statusCode).toBe(401);
    // The other key stays trusted.
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: bearer(admin.key) })).statusCode).toBe(200);
  });

  it('does not remember an unknown key: one stored just after it was refused works at once', async () => {
    const { queries, counted } = countingRepository(createApiKeysRepository(database.prisma));
    const cache = createKeyCache(counted, { ttlMs: 600_000, maxEntries: 100 });
    const key = generateKey();
    expect(await cache.findLive(hashKey(key))).toBeNull();
    const id = randomUUID();
    await counted.create({ id, owner: 'bob', role: 'member', name: 'new', keyHash: hashKey(key) });
    expect((await cache.findLive(hashKey(key)))?.id).toBe(id);
    expect(queries.findLive).toBe(2);
  });

  it('does not remember a key that was revoked while its lookup ran', async () => {
    const repository = createApiKeysRepository(database.prisma);
    const { key, id } = await storedKey();
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { queries, counted } = countingRepository({
      ...repository,
      // Reads the key as live, then waits: the revocation lands between the read and its answer.
      findLive: async (keyHash) => {
        const found = await repository.findLive(keyHash);
        await gate;
        return found;
      },
    });
    const cache = createKeyCache(counted, { ttlMs: 600_000, maxEntries: 100 });
    const before = cache.findLive(hashKey(key));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await repository.revoke(id)).toBe(true);
    cache.forget(id);
    release();
    // The request that asked before the revocation gets the answer of its time; later ones ask again.
    expect((await before)?.id).toBe(id);
    expect(await cache.findLive(hashKey(key))).toBeNull();
    expect(queries.findLive).toBe(2);
  });

  it('keeps at most maxEntries keys, dropping the oldest', async () => {
    const { queries, counted } = countingRepository(createApiKeysRepository(database.prisma));
    const cache = createKeyCache(counted, { ttlMs: 600_000, maxEntries: 2 });
    const [first, second, third] = [await storedKey(), await storedKey(), await storedKey()];
    for (const { key } of [first, second, third]) await cache.findLive(hashKey(key));
    expect(queries.findLive).toBe(3);
    await cache.findLive(hashKey(third.key));
    await cache.findLive(hashKey(second.key));
    expect(queries.findLive).toBe(3);
    await cache.findLive(hashKey(first.key));
    expect(queries.findLive).toBe(4);
  });

  it('tells the other API processes of a revocation through Redis', async () => {
    const adminKey = 'an-admin-key-for-the-key-cache-test-0123456789';
    const config = testConfig(database.url, { AUTH: 'required', ADMIN_API_KEY: adminKey, API_KEY_CACHE_MS: '300000' });
    const [one, other] = await Promise.all([startApi(config, silentLogger()), startApi(config, silentLogger())]);
    try {
      const created = await fetch(`${one.address}/keys`, {
        method: 'POST',
        headers: { ...bearer(adminKey), 'content-type': 'application/json' },
        body: JSON.stringify({ owner: 'carol', role: 'viewer', name: 'laptop' }),
      });
      expect(created.status).toBe(201);
      const { key, id } = (await created.json()) as { key: string; id: string };
      const whoami = async (api: { address: string }) =>
        (await fetch(`${api.address}/whoami`, { headers: bearer(key) })).status;
      // Both processes now hold the key, for five minutes unless told otherwise.
      expect([await whoami(one), await whoami(other)]).toEqual([200, 200]);

      const revoked = await fetch(`${one.address}/keys/${id}`, { method: 'DELETE', headers: bearer(adminKey) });
      expect(revoked.status).toBe(204);
      expect(await whoami(one)).toBe(401);
      await expect.poll(() => whoami(other), { timeout: 2000, interval: 50 }).toBe(401);
    } finally {
      await Promise.all([one.close(), other.close()]);
    }
  });
});
