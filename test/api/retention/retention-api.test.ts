import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import type { JobView } from '../../../src/api/jobs/schemas.js';
import type { OwnerSettingsView } from '../../../src/api/owners/schemas.js';
import type { RetentionPreview } from '../../../src/api/retention/schemas.js';
import type { Service } from '../../../src/main/process.js';
import { startApi } from '../../../src/main/start-api.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { bearer, testKeys } from '../../helpers/access.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger, testConfig } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { smallSpec } from '../../helpers/specs.js';

const adminKey = `admin-${'k'.repeat(40)}`;

describe('retention and owner settings over HTTP', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let jobs: JobsRepository;
  const keys: Record<'alice' | 'aliceViewer' | 'bob', string> = { alice: '', aliceViewer: '', bob: '' };

  beforeAll(async () => {
    database = await createTestDatabase('retention_api');
    jobs = createJobsRepository(database.prisma);
    // The server default applies to runs nothing else gives a retention.
    api = await startApi(
      testConfig(database.url, { AUTH: 'required', ADMIN_API_KEY: adminKey, RUN_RETENTION_DAYS: '7' }),
      silentLogger(),
    );
    const issued = testKeys(database.prisma);
    keys.alice = (await issued.issue('alice', 'member')).key;
    keys.aliceViewer = (await issued.issue('alice', 'viewer')).key;
    keys.bob = (await issued.issue('bob', 'member')).key;
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  async function call<T = ErrorBody>(key: string, method: string, path: string, body?: unknown) {
    const response = await fetch(`${api.address}${path}`, {
      method,
      headers: { ...bearer(key), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as T };
  }

  /** A finished run of `owner` that ended 40 days ago (its expiry stamped again for that end). */
  async function oldRun(owner: string, retention: { days: number }) {
    const { id } = await insertFinishedRun(jobs, { retention });
    await database.prisma.$executeRaw`
      UPDATE jobs SET owner = ${owner}, finished_at = now() - interval '40 days' WHERE id = ${id}::uuid`;
    return id;
  }

  describe('GET and PUT /owners/:owner/settings', () => {
    it('lets an admin set both defaults and any key of the owner read them', async () => {
      const put = await call<OwnerSettingsView>(adminKey, 'PUT', '/owners/alice/settings', {
        retentionDays: 30,
        maxDurationSeconds: 120,
      });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ owner: 'alice', retentionDays: 30, maxDurationSeconds: 120 });
      for (const key of [keys.alice, keys.aliceViewer, adminKey]) {
        const read = await call<OwnerSettingsView>(key, 'GET', '/owners/alice/settings');
        expect(read.status).toBe(200);
        expect(read.body).toMatchObject({ retentionDays: 30, maxDurationSeconds: 120 });
      }
      const unset = await call<OwnerSettingsView>(keys.bob, 'GET', '/owners/bob/settings');
      expect(unset.body).toEqual({ owner: 'bob', retentionDays: null, maxDurationSeconds: null, updatedAt: null });
    });

    it("answers another owner's settings as not found, and refuses a member's PUT", async () => {
      expect((await call(keys.bob, 'GET', '/owners/alice/settings')).status).toBe(404);
      const put = await call(keys.alice, 'PUT', '/owners/alice/settings', {
        retentionDays: 1,
        maxDurationSeconds: null,
      });
      expect(put.status).toBe(403);
      expect((await call<OwnerSettingsView>(adminKey, 'GET', '/owners/alice/settings')).body.retentionDays).toBe(30);
    });

    it.each([
      [{ retentionDays: 0, maxDurationSeconds: null }, 'retentionDays'],
      [{ retentionDays: 3651, maxDurationSeconds: null }, 'retentionDays'],
      [{ retentionDays: 1.5, maxDurationSeconds: null }, 'retentionDays'],
      [{ retentionDays: null, maxDurationSeconds: '60' }, 'maxDurationSeconds'],
      [{ retentionDays: null, maxDurationSeconds: 0 }, 'maxDurationSeconds'],
      [{ retentionDays: null }, 'maxDurationSeconds'],
    ])('refuses %j with a 400 naming the field', async (body, field) => {
      const answer = await call(adminKey, 'PUT', '/owners/alice/settings', body);
      expect(answer.status).toBe(400);
      expect(answer.body.issues?.map((issue) => issue.path)).toContain(field);
    });

    it('refuses a field it does not know, naming it', async () => {
      const body = { retentionDays: null, maxDurationSeconds: null, retentiondays: 1 };
      const answer = await call(adminKey, 'PUT', '/owners/alice/settings', body);
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.body)).toContain('retentiondays');
    });

    it.each(['-alice', 'a b', 'x'.repeat(65), '__proto__', 'al%2Fice'])(
      'refuses the owner name %j with a 400 naming owner',
      async (name) => {
        for (const method of ['GET', 'PUT']) {
          const body = method === 'PUT' ? { retentionDays: null, maxDurationSeconds: null } : undefined;
          const answer = await call(adminKey, method, `/owners/${encodeURIComponent(name)}/settings`, body);
          expect(answer.status).toBe(400);
          expect(answer.body.issues?.map((issue) => issue.path)).toContain('owner');
        }
      },
    );
  });

  describe('a run’s retention and time limit on its job', () => {
    it("records the owner's default time limit for a run submitted without one, and the run's own otherwise", async () => {
      const defaulted = await call<JobView>(keys.alice, 'POST', '/jobs', smallSpec());
      expect(defaulted.status).toBe(201);
      expect(defaulted.body.maxDurationSeconds).toBe(120);
      const own = await call<JobView>(keys.alice, 'POST', '/jobs', smallSpec({ maxDurationSeconds: 60 }));
      expect(own.body.maxDurationSeconds).toBe(60);
      const bobs = await call<JobView>(keys.bob, 'POST', '/jobs', smallSpec());
      expect(bobs.body.maxDurationSeconds).toBeNull();
    });

    it('shows the retention and expiry once a run ends, follows pinning, and an owner default set later', async () => {
      const submitted = await call<JobView>(keys.bob, 'POST', '/jobs', smallSpec());
      expect(submitted.body).toMatchObject({ retention: null, expiresAt: null });
      await call(keys.bob, 'POST', `/jobs/${submitted.body.id}/cancel`);
      const ended = (await call<JobView>(keys.bob, 'GET', `/jobs/${submitted.body.id}`)).body;
      expect(ended.status).toBe('cancelled');
      expect(ended.retention).toEqual({ days: 7, source: 'server' });
      expect(Date.parse(ended.expiresAt!) - Date.parse(ended.finishedAt!)).toBe(7 * 86_400_000);

      const pinned = await call<JobView>(keys.bob, 'PATCH', `/jobs/${submitted.body.id}`, { pinned: true });
      expect(pinned.body).toMatchObject({ pinned: true, expiresAt: null, retention: { days: 7, source: 'server' } });
      const unpinned = await call<JobView>(keys.bob, 'PATCH', `/jobs/${submitted.body.id}`, { pinned: false });
      expect(unpinned.body.expiresAt).toBe(ended.expiresAt);

      await call(adminKey, 'PUT', '/owners/bob/settings', { retentionDays: 3, maxDurationSeconds: null });
      const after = (await call<JobView>(keys.bob, 'GET', `/jobs/${submitted.body.id}`)).body;
      expect(after.retention).toEqual({ days: 3, source: 'owner' });
      expect(Date.parse(after.expiresAt!) - Date.parse(after.finishedAt!)).toBe(3 * 86_400_000);
      await call(adminKey, 'PUT', '/owners/bob/settings', { retentionDays: null, maxDurationSeconds: null });
      expect((await call<JobView>(keys.bob, 'GET', `/jobs/${submitted.body.id}`)).body.retention).toEqual({
        days: 7,
        source: 'server',
      });
    });
  });

  describe('GET /retention/preview', () => {
    it("lists a key's own owner's expired runs, and an admin every owner's", async () => {
      const alices = await oldRun('alice', { days: 30 });
      const bobs = await oldRun('bob', { days: 30 });
      const kept = await oldRun('bob', { days: 30 });
      await call(keys.bob, 'PATCH', `/jobs/${kept}`, { pinned: true });

      const alice = await call<RetentionPreview>(keys.alice, 'GET', '/retention/preview');
      expect(alice.status).toBe(200);
      expect(alice.body.runs.map((run) => run.id)).toEqual([alices]);
      expect(alice.body.count).toBe(1);
      expect(alice.body.runs[0]).toMatchObject({ owner: 'alice', name: 'small' });
      expect(alice.body.runs[0]!.bytes).toBeGreaterThan(0);
      expect(alice.body.heldBack).toEqual([]);
      // An owner filter from a key that is not an admin's changes nothing.
      expect((await call<RetentionPreview>(keys.alice, 'GET', '/retention/preview?owner=bob')).body.count).toBe(1);

      const all = await call<RetentionPreview>(adminKey, 'GET', '/retention/preview');
      expect(new Set(all.body.runs.map((run) => run.id))).toEqual(new Set([alices, bobs]));
      expect(all.body.heldBack).toEqual([expect.objectContaining({ id: kept, reason: 'pinned' })]);
      const bob = await call<RetentionPreview>(adminKey, 'GET', '/retention/preview?owner=bob&limit=1');
      expect(bob.body).toMatchObject({ count: 1, runs: [expect.objectContaining({ id: bobs })] });
    });

    it('refuses a bad limit with a 400 naming it', async () => {
      const answer = await call(adminKey, 'GET', '/retention/preview?limit=0');
      expect(answer.status).toBe(400);
      expect(answer.body.issues?.map((issue) => issue.path)).toContain('limit');
    });
  });
});
