import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../../src/domain/job-spec.js';
import {
  createIdempotencyKeysRepository,
  createJobRecordsRepository,
  type IdempotencyKeysRepository,
  type JobRecordsRepository,
  type NewJob,
} from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { smallSpec } from '../../helpers/specs.js';

function newJob(): NewJob {
  const parsed = parseJobSpec(smallSpec(), { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error('bad spec');
  return { id: randomUUID(), spec: parsed.spec, parameterCount: 1, totalSteps: 64 };
}

describe('idempotency keys repository', () => {
  let database: TestDatabase;
  let records: JobRecordsRepository;
  let keys: IdempotencyKeysRepository;
  beforeAll(async () => {
    database = await createTestDatabase('idempotency_keys');
    records = createJobRecordsRepository(database.prisma);
    keys = createIdempotencyKeysRepository(database.prisma);
  });
  afterAll(() => database.drop());

  it('creates a job under a new key and remembers the key, its body hash and the job', async () => {
    const key = randomUUID();
    const job = newJob();
    const created = await keys.createWithKey(job, key, 'hash-1');
    expect(created).toMatchObject({ id: job.id, status: 'queued', specError: null, epochs: [] });
    expect(await keys.findByIdempotencyKey(key)).toEqual({ bodyHash: 'hash-1', jobId: job.id });
    expect(await keys.findByIdempotencyKey(randomUUID())).toBeNull();
  });

  it('creates neither the job nor the key when the key is taken, however many ask at once', async () => {
    const key = randomUUID();
    const attempts = Array.from({ length: 5 }, newJob);
    const results = await Promise.all(attempts.map((job) => keys.createWithKey(job, key, 'hash')));
    const winners = results.filter((result) => result !== null);
    expect(winners).toHaveLength(1);
    expect(await keys.findByIdempotencyKey(key)).toEqual({ bodyHash: 'hash', jobId: winners[0]?.id });
    const stored = await records.findMany(attempts.map((job) => job.id));
    expect(stored.map((job) => job.id)).toEqual([winners[0]?.id]);
  });

  it('creates a batch of jobs in the order given, none under a key taken before or earlier in the batch', async () => {
    const taken = randomUUID();
    await keys.createWithKey(newJob(), taken, 'hash');
    const [shared, own] = [randomUUID(), randomUUID()];
    const entries = [
      { job: newJob(), key: shared, bodyHash: 'first' },
      { job: newJob(), key: taken, bodyHash: 'hash' },
      { job: newJob(), key: own, bodyHash: 'own' },
      { job: newJob(), key: shared, bodyHash: 'second' },
    ];
    const created = await keys.createManyWithKeys(entries);
    expect(created.map((job) => job?.id ?? null)).toEqual([entries[0]?.job.id, null, entries[2]?.job.id, null]);
    expect(created[0]).toMatchObject({ status: 'queued', specError: null, epochs: [] });
    expect(await keys.findByIdempotencyKey(shared)).toEqual({ bodyHash: 'first', jobId: entries[0]?.job.id });
    expect(await keys.findByIdempotencyKey(own)).toEqual({ bodyHash: 'own', jobId: entries[2]?.job.id });
    const stored = await records.findMany(entries.map((entry) => entry.job.id));
    expect(stored.map((job) => job.id)).toEqual([entries[0]?.job.id, entries[2]?.job.id]);
  });
});
