// `npm run artifacts:migrate -- --to s3|postgres`: moves stored artifacts (models, kept checkpoints,
// datasets) between Postgres and object storage, one at a time, each checked by SHA-256 before its
// old copy is dropped. Idempotent and resumable: run it again after an interruption. Reads
// DATABASE_URL, ARTIFACT_STORE and S3_* like the server; safe while the server runs.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { migrateArtifacts, type MigrationDestination } from '../store/artifacts/artifact-migration.js';
import { s3ClientOf } from '../store/artifacts/artifact-store-factory.js';
import { s3Objects } from '../store/artifacts/s3-artifact-store.js';
import { parseS3Url, s3UrlOf } from '../store/artifacts/s3-location.js';
import { createPrismaClient } from '../store/database.js';
import { migrate } from '../store/migrate.js';

const usage = `usage:
  npm run artifacts:migrate -- --to s3             (to ARTIFACT_STORE=s3://bucket/prefix)
  npm run artifacts:migrate -- --to s3://bucket/prefix
  npm run artifacts:migrate -- --to postgres`;

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Where `--to` says, or a message saying why it cannot be used. */
function destinationOf(to: string | undefined, configured: ReturnType<typeof loadConfig>['ARTIFACT_STORE']) {
  if (to === 'postgres') return 'postgres';
  if (to === 's3') {
    return configured === 'postgres'
      ? {
          problem:
            '--to s3 moves to ARTIFACT_STORE, which is postgres: set ARTIFACT_STORE=s3://bucket/prefix or name it',
        }
      : configured;
  }
  if (to?.startsWith('s3://')) return parseS3Url(to);
  return { problem: usage };
}

const { values } = parseArgs({ options: { to: { type: 'string' } } });
const config = loadConfig();
const destination: MigrationDestination | { problem: string } = destinationOf(values.to, config.ARTIFACT_STORE);
if (typeof destination === 'object' && 'problem' in destination) {
  process.stderr.write(`${destination.problem}\n`);
  process.exit(2);
}

await migrate(config.DATABASE_URL);
const prisma = createPrismaClient(config.DATABASE_URL);
const client = s3ClientOf(config);
const target = destination === 'postgres' ? null : destination;
const where = target ? s3UrlOf(target) : 'postgres';
try {
  process.stderr.write(`moving artifacts to ${where}\n`);
  const summary = await migrateArtifacts(prisma, s3Objects(client, target), destination, {
    moved: (artifact, done, total) =>
      process.stderr.write(`[${done}/${total}] moved ${artifact.id} (${artifact.bytes} bytes, sha256 verified)\n`),
    failed: (artifact, error, done, total) =>
      process.stderr.write(
        `[${done}/${total}] FAILED ${artifact.id}: ${error instanceof Error ? error.message : String(error)} (left where it was)\n`,
      ),
  });
  process.stdout.write(
    `moved ${summary.moved} artifacts (${mib(summary.movedBytes)}) to ${where}; ${summary.failed} failed; ${summary.remaining} not there yet\n`,
  );
  process.exitCode = summary.failed > 0 ? 1 : 0;
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  client.destroy();
  await prisma.$disconnect();
}
