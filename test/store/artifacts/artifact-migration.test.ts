import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateArtifacts } from '../../../src/store/artifacts/artifact-migration.js';
import { readArtifactBytes } from '../../../src/store/artifacts/artifact-store.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createS3ArtifactStore, s3Objects, type S3Objects } from '../../../src/store/artifacts/s3-artifact-store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { startLocalS3, type LocalS3 } from '../../helpers/s3rver.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const prefix = 'moved';

/** Runs the built `npm run artifacts:migrate` entry with `args` and `env` added. */
function runMigrate(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'dist/cli/artifacts-migrate.js'), ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('moving artifacts between Postgres and object storage', () => {
  let database: TestDatabase;
  let s3: LocalS3;
  let objects: S3Objects;
  const target = () => ({ bucket: s3.bucket, prefix });
  beforeAll(async () => {
    database = await createTestDatabase('artifact_migration');
    s3 = await startLocalS3('migration');
    objects = s3Objects(s3.client, target());
  });
  afterAll(async () => {
    await s3?.close();
    await database?.drop();
  });

  /** Artifacts in Postgres of several shapes (empty, one chunk, several), with their content by id. */
  async function storeInPostgres(): Promise<Map<string, Buffer>> {
    const store = createPostgresArtifactStore(database.prisma, { chunkBytes: 64 * 1024 });
    const contents = [Buffer.alloc(0), randomBytes(10), randomBytes(200_000), randomBytes(64 * 1024)];
    const byId = new Map<string, Buffer>();
    for (const content of contents) byId.set((await store.put([content])).id, content);
    return byId;
  }

  const locations = async (ids: Iterable<string>) =>
    (await database.prisma.artifact.findMany({ where: { id: { in: [...ids] } }, orderBy: { id: 'asc' } })).map(
      (row) => row.location,
    );

  it('moves every Postgres artifact to the bucket, verified, and a rerun has nothing to do', async () => {
    const contents = await storeInPostgres();
    const summary = await migrateArtifacts(database.prisma, objects, target());
    expect(summary).toMatchObject({ moved: contents.size, failed: 0, remaining: 0 });
    for (const location of await locations(contents.keys())) expect(location).toMatch(`s3://${s3.bucket}/${prefix}/`);
    expect(await database.prisma.artifactChunk.count()).toBe(0);
    const store = createS3ArtifactStore(database.prisma, s3.client, target());
    for (const [id, content] of contents) expect((await readArtifactBytes(store, id))?.equals(content)).toBe(true);
    expect((await s3.keys(prefix)).length).toBe(contents.size);

    expect(await migrateArtifacts(database.prisma, objects, target())).toMatchObject({ moved: 0, failed: 0 });
  });

  it('moves them back into Postgres and deletes the objects once each copy is verified', async () => {
    const inBucket = await database.prisma.artifact.findMany({ where: { location: { startsWith: 's3://' } } });
    const store = createS3ArtifactStore(database.prisma, s3.client, target());
    const before = new Map<string, Buffer>();
    for (const row of inBucket) before.set(row.id, (await readArtifactBytes(store, row.id)) ?? Buffer.alloc(1));
    const summary = await migrateArtifacts(database.prisma, objects, 'postgres', {}, { chunkBytes: 50_000 });
    expect(summary).toMatchObject({ moved: inBucket.length, failed: 0, remaining: 0 });
    expect(await s3.keys(prefix)).toEqual([]);
    const postgres = createPostgresArtifactStore(database.prisma);
    for (const [id, content] of before) expect((await readArtifactBytes(postgres, id))?.equals(content)).toBe(true);
  });

  it('resumes after a run that died midway: failed copies stay where they were, a rerun finishes', async () => {
    await storeInPostgres();
    // Every artifact in Postgres moves, the earlier tests' included: which one the crash hits
    // depends on the order of their ids.
    const postgres = createPostgresArtifactStore(database.prisma);
    const contents = new Map<string, Buffer>();
    for (const row of await database.prisma.artifact.findMany({ where: { location: 'postgres' } }))
      contents.set(row.id, (await readArtifactBytes(postgres, row.id)) ?? Buffer.alloc(0));
    let uploads = 0;
    // The third upload dies after the object arrived but before its row moved (a crash at the worst moment).
    const crashing: S3Objects = {
      ...objects,
      async upload(object, content) {
        const uploaded = await objects.upload(object, content);
        if (++uploads === 3) throw new Error('process died');
        return uploaded;
      },
    };
    const failed: string[] = [];
    const first = await migrateArtifacts(database.prisma, crashing, target(), {
      failed: (artifact) => failed.push(artifact.id),
    });
    expect(first).toMatchObject({ failed: 1, remaining: 1 });
    const [stuck = ''] = failed;
    expect(await locations([stuck])).toEqual(['postgres']);
    expect((await readArtifactBytes(postgres, stuck))?.equals(contents.get(stuck) ?? Buffer.alloc(1))).toBe(true);

    const second = await migrateArtifacts(database.prisma, objects, target());
    expect(second).toMatchObject({ moved: 1, failed: 0, remaining: 0 });
    expect(await database.prisma.artifactChunk.count()).toBe(0);
    // The crashed copy's outbox entry went with the row that now points at its object.
    expect(await database.prisma.artifactDeletion.count({ where: { location: { endsWith: stuck } } })).toBe(0);
    const store = createS3ArtifactStore(database.prisma, s3.client, target());
    for (const [id, content] of contents) expect((await readArtifactBytes(store, id))?.equals(content)).toBe(true);
  });

  it('keeps the original and drops the copy when the copy does not match its SHA-256', async () => {
    await migrateArtifacts(database.prisma, objects, 'postgres');
    const [victim] = await database.prisma.artifact.findMany({ where: { bytes: { gt: 0 } }, take: 1 });
    const corrupting: S3Objects = {
      ...objects,
      async upload(object, content) {
        const pieces: Uint8Array[] = [];
        for await (const piece of content) pieces.push(piece);
        const bytes = Buffer.concat(pieces);
        if (object.key.endsWith(victim!.id)) bytes[0] = (bytes[0] ?? 0) ^ 0xff;
        return objects.upload(object, [bytes]);
      },
    };
    const summary = await migrateArtifacts(database.prisma, corrupting, target());
    expect(summary.failed).toBe(1);
    expect(await locations([victim!.id])).toEqual(['postgres']);
    expect(await database.prisma.artifactChunk.count({ where: { artifactId: victim!.id } })).toBeGreaterThan(0);
    // The bad copy is deleted (the run's closing drain).
    expect(await s3.keys(`${prefix}/${victim!.id}`)).toEqual([]);
  });

  it('runs as npm run artifacts:migrate, printing progress and a summary', async () => {
    const env = { DATABASE_URL: database.url, ...s3.env(prefix) };
    const toS3 = await runMigrate(['--to', 's3'], env);
    expect(toS3.code, toS3.stderr).toBe(0);
    expect(toS3.stderr).toMatch(/moving artifacts to s3:\/\/.+\/moved/);
    expect(toS3.stderr).toMatch(/\[1\/1\] moved [0-9a-f-]{36} \(\d+ bytes, sha256 verified\)/);
    expect(toS3.stdout).toMatch(/^moved 1 artifacts \(.+ MiB\) to s3:\/\/.+; 0 failed; 0 not there yet$/m);
    expect(await database.prisma.artifact.count({ where: { location: 'postgres' } })).toBe(0);

    const back = await runMigrate(['--to', 'postgres'], env);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(/^moved \d+ artifacts .* to postgres; 0 failed; 0 not there yet$/m);
    expect(await s3.keys(prefix)).toEqual([]);

    const wrong = await runMigrate(['--to', 's3'], { DATABASE_URL: database.url, ARTIFACT_STORE: 'postgres' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/set ARTIFACT_STORE=s3:\/\/bucket\/prefix/);
  });
});
