import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsageService, monthStart } from '../../../src/api/usage/usage-service.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createModelsRepository } from '../../../src/store/models-repository.js';
import { createUsageRepository } from '../../../src/store/usage-repository.js';
import { bearer, requiredAccess, testKeys } from '../../helpers/access.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { queuePrefix, redisUrl, silentLogger } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { queuedJob } from '../../store/jobs/queued-job.js';
import { appWithoutStore } from '../http/app-stand-ins.js';

interface Period {
  runs: Record<string, number>;
  trainingSeconds: number;
  storedBytes: Record<string, number>;
}
interface UsageBody {
  monthStart: string;
  owners: { owner: string; thisMonth: Period; total: Period }[];
}

describe('GET /usage', () => {
  let database: TestDatabase;
  let jobs: JobsRepository;
  let app: FastifyInstance;
  let redis: Redis;
  const keys = new Map<string, string>();
  let aliceModelBytes = 0;

  /** A finished run of `owner`, created `createdAt`, that trained for `seconds`. */
  async function run(owner: string, options: { createdAt?: Date; seconds?: number; status?: 'completed' | 'failed' }) {
    const { id } = await insertFinishedRun(jobs, {}, { status: options.status ?? 'completed' });
    await database.prisma.job.update({
      where: { id },
      data: {
        owner,
        durationMs: (options.seconds ?? 10) * 1000,
        ...(options.createdAt ? { createdAt: options.createdAt } : {}),
      },
    });
    return id;
  }

  beforeAll(async () => {
    database = await createTestDatabase('usage_api');
    jobs = createJobsRepository(database.prisma);
    redis = createRedis(redisUrl, 'client');
    const issued = testKeys(database.prisma);
    keys.set('alice', (await issued.issue('alice', 'member')).key);
    keys.set('admin', (await issued.issue('ops', 'admin')).key);
    app = appWithoutStore({
      access: requiredAccess(database.prisma, redis, queuePrefix('usage'), silentLogger()),
      usage: createUsageService({ usage: createUsageRepository(database.prisma) }),
    });

    const lastYear = new Date(Date.UTC(new Date().getUTCFullYear() - 1, 5, 1));
    const aliceRecent = await run('alice', { seconds: 12.5 });
    await run('alice', { seconds: 30, status: 'failed', createdAt: lastYear });
    await run('bob', { seconds: 7 });
    const queued = await queuedJob(jobs);
    await database.prisma.job.update({ where: { id: queued.id }, data: { owner: 'alice' } });
    await jobs.saveCheckpoint(queued.id, { step: 1, epoch: 0, state: { a: 1 }, tensors: Buffer.alloc(4096) });
    // A model whose final and best versions share their artifacts: counted once.
    const artifacts = createPostgresArtifactStore(database.prisma);
    const modelJson = await artifacts.put([Buffer.alloc(100)]);
    const weights = await artifacts.put([Buffer.alloc(1000)]);
    aliceModelBytes = 1100;
    for (const version of ['final', 'best'] as const) {
      await createModelsRepository(database.prisma).save({
        jobId: aliceRecent,
        version,
        epoch: 1,
        modelJsonArtifactId: modelJson.id,
        weightsArtifactId: weights.id,
        tfjsVersion: '4.22.0',
        inputShape: [28, 28],
        preprocessing: { scale: 1, mean: 0, std: 1 },
        classCount: 10,
        classNames: null,
        testAccuracy: 0.9,
      });
    }
    await database.prisma.dataset.create({
      data: {
        name: 'alice-set',
        format: 'idx',
        inputShape: [2, 2],
        classCount: 2,
        trainSize: 4,
        testSize: 2,
        trainClassCounts: [2, 2],
        testClassCounts: [1, 1],
        featureType: 'uint8',
        scale: 1,
        mean: 0,
        std: 1,
        featureMin: 0,
        featureMax: 1,
        artifactId: randomUUID(),
        sha256: 'x',
        bytes: 5000n,
        uploadBytes: 6000n,
        owner: 'alice',
      },
    });
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
    await database.drop();
  });

  const usageAs = async (who: string, query = '') => {
    const response = await app.inject({ method: 'GET', url: `/usage${query}`, headers: bearer(keys.get(who) ?? '') });
    expect(response.statusCode).toBe(200);
    return response.json<UsageBody>();
  };

  it("shows a member its own owner's runs, training time and storage, this month and in total", async () => {
    const usage = await usageAs('alice');
    expect(usage.monthStart).toBe(monthStart(new Date()).toISOString());
    expect(usage.owners.map((entry) => entry.owner)).toEqual(['alice']);
    const [alice] = usage.owners;
    expect(alice?.total.runs).toEqual({ queued: 1, running: 0, completed: 1, failed: 1, cancelled: 0, total: 3 });
    expect(alice?.thisMonth.runs).toEqual({ queued: 1, running: 0, completed: 1, failed: 0, cancelled: 0, total: 2 });
    expect(alice?.total.trainingSeconds).toBe(42.5);
    expect(alice?.thisMonth.trainingSeconds).toBe(12.5);
    expect(alice?.total.storedBytes.models).toBe(aliceModelBytes);
    expect(alice?.total.storedBytes.checkpoints).toBeGreaterThanOrEqual(4096);
    expect(alice?.total.storedBytes.datasets).toBe(5000);
    expect(alice?.thisMonth.storedBytes.history).toBeGreaterThan(0);
    expect(alice?.total.storedBytes.history).toBeGreaterThan(alice?.thisMonth.storedBytes.history ?? 0);
    const bytes = alice?.total.storedBytes;
    expect(bytes?.total).toBe((bytes?.history ?? 0) + (bytes?.models ?? 0) + (bytes?.checkpoints ?? 0) + 5000);
  });

  it('shows an admin every owner, or one with ?owner=; a member cannot see another owner', async () => {
    const all = await usageAs('admin');
    expect(all.owners.map((entry) => entry.owner)).toEqual(['alice', 'bob']);
    expect(all.owners[1]?.total).toMatchObject({ runs: { completed: 1, total: 1 }, trainingSeconds: 7 });
    const bob = await usageAs('admin', '?owner=bob');
    expect(bob.owners.map((entry) => entry.owner)).toEqual(['bob']);
    const nobody = await usageAs('admin', '?owner=carol');
    expect(nobody.owners[0]?.total.runs.total).toBe(0);
    const notBob = await usageAs('alice', '?owner=bob');
    expect(notBob.owners.map((entry) => entry.owner)).toEqual(['alice']);
  });
});
