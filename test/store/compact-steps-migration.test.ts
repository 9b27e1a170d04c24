import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrismaClient, dropDatabase, withConnection } from '../../src/store/database.js';
import { createStepHistoryRepository } from '../../src/store/jobs-repository.js';
import { defaultMigrationsDirectory, migrate } from '../../src/store/migrate.js';
import { uniqueName } from '../helpers/database.js';

const compactMigration = '20261201020000_compact_steps';
const url = `postgresql://postgres@127.0.0.1:5432/trainer_test_${uniqueName('compact_steps')}`;

/** A copy of prisma/migrations with only the migrations before `name`. */
async function migrationsBefore(name: string): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'trainer-migrations-'));
  for (const entry of await readdir(defaultMigrationsDirectory, { withFileTypes: true }))
    if (entry.isDirectory() && entry.name < name)
      await cp(path.join(defaultMigrationsDirectory, entry.name), path.join(directory, entry.name), {
        recursive: true,
      });
  return directory;
}

interface Row {
  job_id: string;
  step: number;
  epoch: number;
  loss: number;
}

/** Histories the old table could hold: gaps, epochs of any length, float32 and float64 losses, extremes. */
function oldHistories(jobs: string[]): Row[] {
  const rows: Row[] = [];
  const [a, b, c] = jobs as [string, string, string];
  for (let step = 1; step <= 1500; step++)
    rows.push({ job_id: a, step, epoch: Math.ceil(step / 333), loss: Math.fround(1 / step + Math.sin(step)) });
  for (let step = 1; step <= 700; step++) {
    if (step > 100 && step < 120) continue;
    rows.push({ job_id: b, step, epoch: 1 + Math.floor(step / 250), loss: step / 7 });
  }
  const extremes = [0, -0, 1e300, -1e-320, 5e-324, 3.4028234663852886e38, 3.5e38, 1.4e-45, Math.fround(1e-40), 1e-46];
  extremes.forEach((loss, index) => rows.push({ job_id: c, step: index + 1, epoch: 1, loss }));
  return rows;
}

describe('the compact steps migration', () => {
  afterAll(() => dropDatabase(url));

  it('converts the step_losses rows of a database at the previous schema in place, with no loss', async () => {
    const before = await migrationsBefore(compactMigration);
    try {
      await migrate(url, before);
    } finally {
      await rm(before, { recursive: true, force: true });
    }
    const jobs = [randomUUID(), randomUUID(), randomUUID()];
    const written = oldHistories(jobs);
    const stored = `SELECT job_id::text, step, epoch, loss, loss::text AS text FROM step_losses ORDER BY job_id, step`;
    const rows = await withConnection(url, async (client) => {
      await client.query(
        `INSERT INTO jobs (id, dataset, spec, parameter_count, total_steps) SELECT id, 'mnist', '{}', 1, 1 FROM unnest($1::uuid[]) AS id`,
        [jobs],
      );
      await client.query(
        `INSERT INTO step_losses (job_id, step, epoch, loss)
         SELECT * FROM unnest($1::uuid[], $2::int[], $3::int[], $4::float8[])`,
        [
          written.map((row) => row.job_id),
          written.map((row) => row.step),
          written.map((row) => row.epoch),
          written.map((row) => row.loss),
        ],
      );
      return (await client.query<Row & { text: string }>(stored)).rows;
    });
    expect(rows).toHaveLength(written.length);

    expect(await migrate(url)).toContain(compactMigration);
    // The view shows every row as the table held it, to the last bit (float8's text form is exact).
    expect(
      await withConnection(url, async (client) => (await client.query<Row & { text: string }>(stored)).rows),
    ).toEqual(rows);

    const prisma = createPrismaClient(url);
    try {
      const history = createStepHistoryRepository(prisma);
      for (const job of jobs) {
        const expected = rows
          .filter((row) => row.job_id === job)
          .map(({ step, epoch, loss }) => ({ step, epoch, loss }));
        const read: { step: number; epoch: number; loss: number }[] = [];
        for await (const page of history.historyPages(job, { pageSize: 100 })) read.push(...page);
        expect(read).toEqual(expected);
        const viewed = await prisma.stepLoss.findMany({ where: { jobId: job }, orderBy: { step: 'asc' } });
        expect(viewed.map(({ step, epoch, loss }) => ({ step, epoch, loss }))).toEqual(expected);
      }
      const chunks = await prisma.stepChunk.count();
      expect(chunks).toBeLessThan(rows.length / 50);
      // The migrated history goes on being written as any other.
      await history.recordSteps(jobs[1] as string, [{ step: 701, epoch: 3, loss: 0.5 }]);
      expect(await history.historyExtent(jobs[1] as string)).toEqual({ count: 700 - 19 + 1, lastStep: 701 });
    } finally {
      await prisma.$disconnect();
    }
  });
});
