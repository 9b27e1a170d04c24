import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArtifactStoreUnavailable } from '../../../src/domain/errors.js';
import { readArtifactBytes } from '../../../src/store/artifacts/artifact-store.js';
import { createArtifactStore } from '../../../src/store/artifacts/artifact-store-factory.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import type { RoutedArtifactStore } from '../../../src/store/artifacts/routed-artifact-store.js';
import { createS3ArtifactStore, createS3Client } from '../../../src/store/artifacts/s3-artifact-store.js';
import { loadConfig } from '../../../src/config.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { startLocalS3, s3rverCredentials, type LocalS3 } from '../../helpers/s3rver.js';
import { describeArtifactStoreContract, piecesOf } from './artifact-store-contract.js';

const prefix = 'artifacts/test';
const target = (bucket: string) => ({ bucket, prefix });

describe('S3 artifact store (s3rver)', () => {
  let database: TestDatabase;
  let s3: LocalS3;
  let store: RoutedArtifactStore;
  beforeAll(async () => {
    database = await createTestDatabase('s3_artifacts');
    s3 = await startLocalS3('artifacts');
    // 5 MiB parts, S3's smallest, so the contract's larger artifacts go up in several parts.
    store = createS3ArtifactStore(database.prisma, s3.client, target(s3.bucket), { partBytes: 5 * 1024 * 1024 });
  });
  afterAll(async () => {
    await s3?.close();
    await database?.drop();
  });

  describeArtifactStoreContract('S3', () => ({
    store,
    async storedPieces() {
      await store.drainDeletions();
      return (await s3.keys()).length;
    },
  }));

  it('keeps the bytes in one object under the prefix and only metadata in Postgres', async () => {
    const content = randomBytes(7 * 1024 * 1024);
    const stored = await store.put(piecesOf(content, [65_536]));
    const row = await database.prisma.artifact.findUniqueOrThrow({ where: { id: stored.id } });
    expect(row.location).toBe(`s3://${s3.bucket}/${prefix}/${stored.id}`);
    expect(await database.prisma.artifactChunk.count({ where: { artifactId: stored.id } })).toBe(0);
    expect(JSON.stringify({ ...row, bytes: Number(row.bytes) }).length).toBeLessThan(1024);
    const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${stored.id}` }));
    const bytes = Buffer.from(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(stored.sha256);
  });

  it('reads artifacts stored in Postgres before the move, each from where its row says', async () => {
    const old = randomBytes(5000);
    const inPostgres = await createPostgresArtifactStore(database.prisma).put([old]);
    expect((await readArtifactBytes(store, inPostgres.id))?.equals(old)).toBe(true);
    expect((await store.read(inPostgres.id, { offset: 10, length: 5 }))?.equals(old.subarray(10, 15))).toBe(true);
    // And the other way round: a server back on Postgres still reads what went to the bucket.
    const inS3 = await store.put([randomBytes(300)]);
    const backOnPostgres = createArtifactStore(
      loadConfig({
        S3_ENDPOINT: s3.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        ...s3.env(prefix),
        ARTIFACT_STORE: 'postgres',
      }),
      database.prisma,
    );
    process.env.AWS_ACCESS_KEY_ID = s3rverCredentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = s3rverCredentials.secretAccessKey;
    expect((await readArtifactBytes(backOnPostgres, inS3.id))?.length).toBe(300);
    expect(await backOnPostgres.downloadUrl(inPostgres.id, 60)).toBeNull();
  });

  it('gives a presigned URL any HTTP client can download the bytes from', async () => {
    const content = randomBytes(4096);
    const stored = await store.put([content]);
    const url = await store.downloadUrl(stored.id, 60);
    expect(url).toMatch(/X-Amz-Signature=/);
    const answer = await fetch(url!);
    expect(answer.status).toBe(200);
    expect(Buffer.from(await answer.arrayBuffer()).equals(content)).toBe(true);
  });

  it('deletes the object of an artifact whose row a trigger deleted, through the outbox', async () => {
    const stored = await store.put([randomBytes(100)]);
    const key = `${prefix}/${stored.id}`;
    expect(await s3.keys(key)).toEqual([key]);
    // As the triggers of models, datasets and kept checkpoints do: straight in SQL.
    await database.prisma.$executeRaw`DELETE FROM artifacts WHERE id = ${stored.id}::uuid`;
    expect(await database.prisma.artifactDeletion.count({ where: { location: { endsWith: stored.id } } })).toBe(1);
    expect(await store.drainDeletions()).toBeGreaterThanOrEqual(1);
    expect(await s3.keys(key)).toEqual([]);
    expect(await database.prisma.artifactDeletion.count({ where: { location: { endsWith: stored.id } } })).toBe(0);
    // Idempotent: a second drain has nothing left to do.
    expect(await store.drainDeletions()).toBe(0);
  });

  describe('when the store cannot serve', () => {
    const unavailable = (store: string): unknown =>
      expect.objectContaining({ name: 'ArtifactStoreUnavailable', code: 'artifact_store_unavailable', store });

    it('names the store for a missing bucket, wrong credentials and an unreachable endpoint', async () => {
      const missing = createS3ArtifactStore(database.prisma, s3.client, { bucket: 'no-such-bucket', prefix: 'p' });
      await expect(missing.put([randomBytes(10)])).rejects.toEqual(unavailable('s3://no-such-bucket/p'));

      const wrongKeys = createS3Client({
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'WRONG', secretAccessKey: 'WRONG' },
      });
      const refused = createS3ArtifactStore(database.prisma, wrongKeys, target(s3.bucket));
      await expect(refused.put([randomBytes(10)])).rejects.toEqual(unavailable(`s3://${s3.bucket}/${prefix}`));
      const stored = await store.put([randomBytes(10)]);
      await expect(refused.open(stored.id)).rejects.toBeInstanceOf(ArtifactStoreUnavailable);

      const nowhere = createS3Client({
        endpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: s3rverCredentials,
        maxAttempts: 1,
      });
      const unreachable = createS3ArtifactStore(database.prisma, nowhere, target(s3.bucket));
      await expect(unreachable.read(stored.id, { offset: 0, length: 5 })).rejects.toEqual(
        unavailable(`s3://${s3.bucket}/${prefix}`),
      );
      // A put that failed leaves no row, and an outbox entry due now for whatever part of it arrived.
      const rows = await database.prisma.artifact.count();
      await expect(unreachable.put([randomBytes(10)])).rejects.toBeInstanceOf(ArtifactStoreUnavailable);
      expect(await database.prisma.artifact.count()).toBe(rows);
    });

    it('keeps deleted objects in the outbox while the store is down and deletes them once it is back', async () => {
      const stored = await store.put([randomBytes(100)]);
      await s3.stop();
      try {
        expect(await store.delete([stored.id])).toBe(1);
        expect(await store.stat(stored.id)).toBeNull();
        expect(await database.prisma.artifactDeletion.count({ where: { location: { endsWith: stored.id } } })).toBe(1);
      } finally {
        await s3.restart();
      }
      await store.drainDeletions();
      expect(await s3.keys(`${prefix}/${stored.id}`)).toEqual([]);
    });
  });
});
