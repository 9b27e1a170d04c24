// `npm run bench:storage [runs] [steps]`: what a loss history costs in Postgres. Fills a database
// at the schema before compact step storage with `runs` runs of `steps` steps (default 100 x
// 100,000), measures bytes per step, then applies the pending migrations in place (timed) and
// measures again. Reading one of those runs whole is timed before (rows, paged reads) and after
// (chunks), and downsampling it to 500 points after (LTTB over one read of runs). Then it writes one
// run through the repository as a worker does and times the same reads on it. Prints figures and
// ratios; asserts nothing.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createJobReads } from '../api/jobs/job-reads.js';
import { createPrismaClient, dropDatabase, withConnection, type PrismaClient } from '../store/database.js';
import { createJobsRepository, type JobsRepository } from '../store/jobs-repository.js';
import { defaultMigrationsDirectory, migrate } from '../store/migrate.js';
import { benchSpec, createBenchJob } from './networks.js';
import { format } from './services.js';

const runs = Number(process.argv[2] ?? 100);
const stepsPerRun = Number(process.argv[3] ?? 100_000);
// The first migration of the compact format; the database is filled at the schema just before it.
const compactMigration = '20261201020000_compact_steps';
const server = process.env.BENCH_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';
const suffix = `${process.pid}`;

/** A copy of prisma/migrations holding only the migrations before `name`. */
async function migrationsBefore(name: string): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'trainer-migrations-'));
  for (const entry of await readdir(defaultMigrationsDirectory, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name < name)
      await cp(path.join(defaultMigrationsDirectory, entry.name), path.join(directory, entry.name), {
        recursive: true,
      });
  }
  return directory;
}

/** Bytes of every table that holds step losses (whichever exist), with their indexes and TOAST. */
async function stepStorageBytes(url: string): Promise<{ bytes: number; tables: string }> {
  return withConnection(url, async (client) => {
    await client.query('VACUUM ANALYZE');
    const { rows } = await client.query<{ name: string; bytes: string }>(
      `SELECT relname AS name, pg_total_relation_size(oid)::text AS bytes FROM pg_class
       WHERE relkind = 'r' AND relname IN ('step_losses', 'step_chunks')`,
    );
    return {
      bytes: rows.reduce((sum, row) => sum + Number(row.bytes), 0),
      tables: rows.map((row) => row.name).join(', '),
    };
  });
}

/** Fills `step_losses` of today's schema with runs of float32 losses (what training produces), 10 runs a statement. */
async function fillOldSchema(url: string): Promise<void> {
  await withConnection(url, async (client) => {
    for (let first = 0; first < runs; first += 10) {
      const count = Math.min(10, runs - first);
      await client.query(
        `WITH new_jobs AS (
           INSERT INTO jobs (id, dataset, spec, parameter_count, total_steps, status)
           SELECT gen_random_uuid(), 'mnist', '{}'::jsonb, 1000, $1, 'completed' FROM generate_series(1, $2)
           RETURNING id)
         INSERT INTO step_losses (job_id, step, epoch, loss)
         SELECT j.id, s, 1 + (s - 1) / 20000, (2.3 / (1 + s / 20000.0) + 0.05 * sin(s))::float4::float8
         FROM new_jobs j, generate_series(1, $1) AS s`,
        [stepsPerRun, count],
      );
    }
  });
}

async function storageSection(): Promise<void> {
  const url = `${server}/trainer_bench_storage_${suffix}`;
  const beforeMigrations = await migrationsBefore(compactMigration);
  try {
    await migrate(url, beforeMigrations);
    let started = performance.now();
    await fillOldSchema(url);
    const total = runs * stepsPerRun;
    console.log(
      `filled ${runs} runs x ${format(stepsPerRun)} steps (${format(total)} steps) in ${format((performance.now() - started) / 1000, 1)} s`,
    );
    const old = await stepStorageBytes(url);
    console.log(
      `before (${old.tables}): ${format(old.bytes / 1e6, 1)} MB, ${format(old.bytes / total, 2)} bytes per step`,
    );
    const before = await rowReads(url);
    started = performance.now();
    const applied = await migrate(url);
    if (applied.length === 0) return;
    console.log(`migrated in place (${applied.join(', ')}) in ${format((performance.now() - started) / 1000, 1)} s`);
    const compact = await stepStorageBytes(url);
    console.log(
      `after  (${compact.tables}): ${format(compact.bytes / 1e6, 1)} MB, ${format(compact.bytes / total, 2)} bytes per step (target <= 16)`,
    );
    await chunkReads(url, before);
  } finally {
    await rm(beforeMigrations, { recursive: true, force: true });
    await dropDatabase(url);
  }
}

/** One run written through the repository as the step writer does: `batch` steps a write. */
async function writeRun(jobs: JobsRepository, steps: number, batch: number): Promise<string> {
  const { id } = await createBenchJob(jobs, { ...benchSpec('mlp', steps / 5, 100, 5), batchSize: 1 });
  const perEpoch = steps / 5;
  for (let first = 1; first <= steps; first += batch) {
    const page = Array.from({ length: Math.min(batch, steps - first + 1) }, (_, index) => {
      const step = first + index;
      return {
        step,
        epoch: Math.ceil(step / perEpoch),
        loss: Math.fround(2.3 / (1 + step / perEpoch) + 0.05 * Math.sin(step)),
      };
    });
    await jobs.recordSteps(id, page);
  }
  return id;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** Runs `work` `times` times; prints and resolves to the median time in ms. */
async function timed(label: string, times: number, work: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  let detail: unknown;
  for (let index = 0; index < times; index++) {
    const started = performance.now();
    detail = await work();
    samples.push(performance.now() - started);
  }
  console.log(`${label.padEnd(52)} median ${format(median(samples), 1).padStart(7)} ms   ${String(detail)}`);
  return median(samples);
}

const ratio = (label: string, before: number, after: number) =>
  console.log(`${label.padEnd(52)} ${format(before / after, 1)}x as fast as before`);

/** The first run's history read a page of rows at a time, as the store read it before chunks. */
async function* rowPages(prisma: PrismaClient, id: string, last: number) {
  for (let from = 0; from < last; from += 5000) {
    const page = await prisma.stepLoss.findMany({
      where: { jobId: id, step: { gt: from, lte: Math.min(from + 5000, last) } },
      orderBy: { step: 'asc' },
      select: { step: true, epoch: true, loss: true },
    });
    if (page.length > 0) yield page;
  }
}

const countSteps = async (pages: AsyncIterable<readonly unknown[]>) => {
  let count = 0;
  for await (const page of pages) count += page.length;
  return `${format(count)} steps`;
};

/** Reading the first run whole and downsampled from rows, as before chunks: the medians. */
async function rowReads(url: string): Promise<{ id: string; read: number }> {
  const prisma = createPrismaClient(url);
  try {
    const [first] = await prisma.$queryRaw<{ id: string; count: number }[]>`
      SELECT job_id::text AS id, count(*)::int AS count FROM step_losses
      WHERE job_id = (SELECT id FROM jobs ORDER BY id LIMIT 1) GROUP BY job_id`;
    if (first === undefined) throw new Error('no run was filled');
    const { id, count } = first;
    const read = await timed('rows: read a run whole (pages of 5,000 rows)', 5, () =>
      countSteps(rowPages(prisma, id, count)),
    );
    return { id, read };
  } finally {
    await prisma.$disconnect();
  }
}

/** The same run read from chunks after the migration, and the ratios to `before`. */
async function chunkReads(url: string, before: { id: string; read: number }): Promise<void> {
  const prisma = createPrismaClient(url);
  try {
    const jobs = createJobsRepository(prisma);
    const read = await timed('chunks: read the run whole (historyPages)', 5, () =>
      countSteps(jobs.historyPages(before.id)),
    );
    await timed('chunks: downsample to 500 points (one read of runs)', 5, async () => {
      const points = await createJobReads(jobs).sampledHistory(before.id, 500);
      return `${points.length} points`;
    });
    ratio('read whole, chunks vs rows', before.read, read);
  } finally {
    await prisma.$disconnect();
  }
}

async function readSection(): Promise<void> {
  const url = `${server}/trainer_bench_storage_read_${suffix}`;
  await migrate(url);
  const prisma = createPrismaClient(url);
  try {
    const jobs = createJobsRepository(prisma);
    const steps = stepsPerRun;
    let started = performance.now();
    const id = await writeRun(jobs, steps, 1000);
    console.log(
      `\nwrote a ${format(steps)}-step run in batches of 1,000 in ${format((performance.now() - started) / 1000, 2)} s`,
    );
    started = performance.now();
    await writeRun(jobs, 20_000, 25);
    const smallBatches = (performance.now() - started) / (20_000 / 25);
    console.log(`batches of 25 steps (a 250 ms flush): ${format(smallBatches, 2)} ms per write`);
    const { bytes } = await stepStorageBytes(url);
    console.log(`both runs, as written by the repository: ${format(bytes / (steps + 20_000), 2)} bytes per step`);
    await timed('historyExtent', 9, async () => JSON.stringify(await jobs.historyExtent(id)));
    await timed('read the whole history (historyPages)', 5, () => countSteps(jobs.historyPages(id)));
    await timed('read the whole history as runs (historyRuns)', 5, async () => {
      let count = 0;
      for await (const page of jobs.historyRuns(id)) for (const run of page) count += run.losses.length;
      return `${format(count)} steps`;
    });
    await timed('downsample to 500 points (lttbRuns, one read)', 5, async () => {
      const points = await createJobReads(jobs).sampledHistory(id, 500);
      return `${points.length} points`;
    });
  } finally {
    await prisma.$disconnect();
    await dropDatabase(url);
  }
}

console.log(`trainer bench:storage: ${runs} runs of ${format(stepsPerRun)} steps`);
await storageSection();
await readSection();
