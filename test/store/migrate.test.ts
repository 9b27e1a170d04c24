import { readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, withConnection } from '../../src/store/database.js';
import { migrate } from '../../src/store/migrate.js';
import { uniqueName } from '../helpers/database.js';

// Every migration folder in Prisma's layout, in the order their timestamps give.
const migrationNames = readdirSync(new URL('../../prisma/migrations/', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

const url = `postgresql://postgres@127.0.0.1:5432/trainer_test_${uniqueName('migrate')}`;

describe('migrate', () => {
  afterAll(() => dropDatabase(url));

  it('creates a missing database, applies every migration once, and records them as prisma migrate does', async () => {
    const first = await migrate(url);
    expect(first).toEqual(migrationNames);
    expect(await migrate(url)).toEqual([]);
    await withConnection(url, async (client) => {
      const tables = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      expect(tables.rows.map((row) => row.table_name)).toEqual([
        '_prisma_migrations',
        'api_keys',
        'artifact_chunks',
        'artifact_deletions',
        'artifacts',
        'checkpoints',
        'datasets',
        'epoch_metrics',
        'history_samples',
        'idempotency_keys',
        'job_forks',
        'jobs',
        'kept_checkpoints',
        'models',
        'owner_settings',
        'step_chunks',
        // A view since the compact steps migration; information_schema lists views as tables too.
        'step_losses',
        'sweep_decisions',
        'sweeps',
        'webhook_deliveries',
        'webhook_delivery_attempts',
        'webhook_events',
        'webhooks',
      ]);
      const recorded = await client.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
        'SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations"',
      );
      expect(recorded.rows).toHaveLength(migrationNames.length);
      expect(recorded.rows[0]?.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(recorded.rows[0]?.finished_at).not.toBeNull();
    });
  });

  it('runs safely when several processes migrate at once', async () => {
    const fresh = `postgresql://postgres@127.0.0.1:5432/trainer_test_${uniqueName('migrate_race')}`;
    try {
      const results = await Promise.all([migrate(fresh), migrate(fresh), migrate(fresh)]);
      expect(results.flat().sort()).toEqual(migrationNames);
    } finally {
      await dropDatabase(fresh);
    }
  });
});
