// `npm run bench:artifacts [MiB] [count]`: the artifact store in Postgres and in object storage, side
// by side: storing one artifact of MiB (64 by default) and reading it back whole, 200 range reads of
// 4 KiB from it (what dataset examples do), `count` (200) small artifacts of 100 KB stored one after
// another, and the Postgres bytes each backend takes per artifact. Object storage is S3_ENDPOINT with
// ARTIFACT_STORE=s3://bucket/prefix when set, else s3rver in this process (a test server: its figures
// say little about a real store's speed). Prints figures and ratios against Postgres; asserts nothing.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import type { ArtifactStore } from '../store/artifacts/artifact-store.js';
import { createArtifactStore } from '../store/artifacts/artifact-store-factory.js';
import { createPostgresArtifactStore } from '../store/artifacts/postgres-artifact-store.js';
import { createS3ArtifactStore, createS3Client } from '../store/artifacts/s3-artifact-store.js';
import { createPrismaClient, dropDatabase, withConnection, type PrismaClient } from '../store/database.js';
import { migrate } from '../store/migrate.js';
import { format } from './services.js';

const mib = Number(process.argv[2] ?? 64);
const count = Number(process.argv[3] ?? 200);
const url = `${process.env.BENCH_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432'}/trainer_bench_artifacts_${process.pid}`;

const seconds = async (work: () => Promise<unknown>) => {
  const start = performance.now();
  await work();
  return (performance.now() - start) / 1000;
};

/** Object storage as configured, or s3rver over a temporary directory. */
async function objectStore(
  prisma: PrismaClient,
): Promise<{ store: ArtifactStore; name: string; close(): Promise<void> }> {
  const config = loadConfig();
  if (config.ARTIFACT_STORE !== 'postgres' && config.S3_ENDPOINT) {
    return { store: createArtifactStore(config, prisma), name: config.S3_ENDPOINT, close: () => Promise.resolve() };
  }
  const { default: S3rver } = await import('s3rver');
  const directory = await mkdtemp(path.join(tmpdir(), 'bench-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: 'bench' }],
  });
  const { port } = await server.run();
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = createS3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
  });
  return {
    store: createS3ArtifactStore(prisma, client, { bucket: 'bench', prefix: 'bench' }),
    name: 's3rver (in this process)',
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Postgres bytes of the artifact tables (with indexes and TOAST), after a vacuum. */
const postgresBytes = () =>
  withConnection(url, async (client) => {
    await client.query('VACUUM ANALYZE artifacts, artifact_chunks');
    const { rows } = await client.query<{ bytes: string }>(
      `SELECT (pg_total_relation_size('artifacts') + pg_total_relation_size('artifact_chunks'))::text AS bytes`,
    );
    return Number(rows[0]?.bytes ?? 0);
  });

/** The figures of one backend. */
async function measure(store: ArtifactStore) {
  const large = randomBytes(mib * 1024 * 1024);
  const pieces = function* () {
    for (let offset = 0; offset < large.length; offset += 1024 * 1024)
      yield large.subarray(offset, offset + 1024 * 1024);
  };
  const bytesBefore = await postgresBytes();
  let id = '';
  const put = await seconds(async () => (id = (await store.put(pieces())).id));
  const read = await seconds(async () => {
    for await (const piece of (await store.open(id)) ?? []) void piece;
  });
  const ranges = await seconds(async () => {
    for (let index = 0; index < 200; index++)
      await store.read(id, { offset: (index * 7919 * 4096) % large.length, length: 4096 });
  });
  const small = randomBytes(100_000);
  const smallPuts = await seconds(async () => {
    for (let index = 0; index < count; index++) await store.put([small]);
  });
  const perArtifact = ((await postgresBytes()) - bytesBefore) / (count + 1);
  return {
    putMiBs: mib / put,
    readMiBs: mib / read,
    rangeMs: (ranges / 200) * 1000,
    smallPerSecond: count / smallPuts,
    perArtifact,
  };
}

await migrate(url);
const prisma = createPrismaClient(url);
const objects = await objectStore(prisma);
try {
  const postgres = await measure(createPostgresArtifactStore(prisma));
  const s3 = await measure(objects.store);
  const ratio = (value: number, baseline: number) => `${format(value / baseline, 2)}x`;
  console.log(
    `artifacts: one of ${mib} MiB, 200 reads of 4 KiB from it, ${count} of 100 KB; object storage: ${objects.name}`,
  );
  console.log('                              Postgres        object storage   ratio');
  const line = (label: string, unit: string, a: number, b: number, digits = 1) =>
    console.log(
      `${label.padEnd(30)}${`${format(a, digits)} ${unit}`.padEnd(16)}${`${format(b, digits)} ${unit}`.padEnd(17)}${ratio(b, a)}`,
    );
  line('store (streamed)', 'MiB/s', postgres.putMiBs, s3.putMiBs);
  line('read whole (streamed)', 'MiB/s', postgres.readMiBs, s3.readMiBs);
  line('range read of 4 KiB', 'ms', postgres.rangeMs, s3.rangeMs, 2);
  line('small artifacts stored', '/s', postgres.smallPerSecond, s3.smallPerSecond);
  line('Postgres bytes per artifact', 'B', postgres.perArtifact, s3.perArtifact, 0);
} finally {
  await objects.close();
  await prisma.$disconnect();
  await dropDatabase(url);
}
