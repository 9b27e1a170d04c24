import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { ensureDatabase, withConnection } from './database.js';

/** prisma/migrations, found from this file both in src/ and in dist/. */
export const defaultMigrationsDirectory = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

// The advisory lock key `prisma migrate` takes, so our runner and Prisma's never interleave.
const migrateLockKey = 72707369;

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

async function readMigrations(directory: string): Promise<Migration[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(directory, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

async function createMigrationsTable(client: pg.Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`);
}

/** The checksum of every migration applied so far, by name. */
async function appliedChecksums(client: pg.Client): Promise<Map<string, string>> {
  const applied = await client.query<{ migration_name: string; checksum: string }>(
    'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
  );
  return new Map(applied.rows.map((row) => [row.migration_name, row.checksum]));
}

/** Applies one migration and records it, both or neither. */
async function apply(client: pg.Client, migration: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
       VALUES ($1, $2, $3, now(), now(), 1)`,
      [randomUUID(), migration.checksum, migration.name],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`migration ${migration.name} failed: ${reason}`, { cause: error });
  }
}

/** Applies the migrations not applied yet, in order; refuses one changed since it was applied. */
async function applyPending(client: pg.Client, migrations: readonly Migration[]): Promise<string[]> {
  await createMigrationsTable(client);
  const done = await appliedChecksums(client);
  const appliedNow: string[] = [];
  for (const migration of migrations) {
    const checksum = done.get(migration.name);
    if (checksum !== undefined) {
      if (checksum !== migration.checksum)
        throw new Error(`migration ${migration.name} was changed after it was applied`);
      continue;
    }
    await apply(client, migration);
    appliedNow.push(migration.name);
  }
  return appliedNow;
}

/**
 * Creates the database if needed and applies pending migrations, recording them in
 * `_prisma_migrations` exactly as `prisma migrate deploy` does, so either tool can follow the other.
 * Returns the names of the migrations it applied.
 */
export async function migrate(databaseUrl: string, directory = defaultMigrationsDirectory): Promise<string[]> {
  await ensureDatabase(databaseUrl);
  const migrations = await readMigrations(directory);
  return withConnection(databaseUrl, async (client) => {
    await client.query('SELECT pg_advisory_lock($1)', [migrateLockKey]);
    try {
      return await applyPending(client, migrations);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [migrateLockKey]);
    }
  });
}
