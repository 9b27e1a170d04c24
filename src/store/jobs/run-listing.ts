import { z } from 'zod';
import type { PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import type { JobStatus } from '../generated/enums.js';
import { findJobs } from './job-records.js';
import type { JobWithEpochs } from './rows.js';

export const runSorts = ['created', 'finalAccuracy', 'bestAccuracy', 'duration'] as const;
export type RunSort = (typeof runSorts)[number];

export interface RunQuery {
  /** Only this owner's runs; every owner's when absent. */
  owner?: string;
  statuses?: JobStatus[];
  dataset?: string;
  /** Case-insensitive substring of the name. */
  nameContains?: string;
  tag?: string;
  sort: RunSort;
  order: 'asc' | 'desc';
  limit: number;
  /** The sort key and id of the last row of the previous page. */
  after?: { key: number; id: string };
}

export interface RunPage {
  runs: JobWithEpochs[];
  /** Each run's sort key, for the cursor of the next page. */
  keys: number[];
  /** Whether more runs follow this page. */
  more: boolean;
}

/** Jobs as runs to browse and compare: filtered, sorted and paged in SQL. */
export interface RunListingRepository {
  /** One page of runs, filtered and sorted, with each row's sort key and whether more rows follow. */
  listRuns: (query: RunQuery) => Promise<RunPage>;
}

// Unfinished runs have no accuracy or duration yet; they sort as -1, below every real value.
const sortKeys: Record<RunSort, Prisma.Sql> = {
  created: Prisma.sql`(extract(epoch FROM created_at) * 1000)`,
  finalAccuracy: Prisma.sql`COALESCE(final_test_accuracy, -1)`,
  bestAccuracy: Prisma.sql`COALESCE(best_test_accuracy, -1)`,
  duration: Prisma.sql`COALESCE(duration_ms, -1)::float8`,
};

/** The WHERE conditions of a run query, its cursor included. */
function runConditions(query: RunQuery): Prisma.Sql {
  const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (query.owner !== undefined) conditions.push(Prisma.sql`owner = ${query.owner}`);
  if (query.statuses?.length) conditions.push(Prisma.sql`status::text IN (${Prisma.join(query.statuses)})`);
  if (query.dataset) conditions.push(Prisma.sql`dataset = ${query.dataset}`);
  if (query.nameContains) {
    const pattern = `%${query.nameContains.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    conditions.push(Prisma.sql`name ILIKE ${pattern}`);
  }
  if (query.tag) conditions.push(Prisma.sql`tags @> ARRAY[${query.tag}]::text[]`);
  if (query.after) {
    const comparison = query.order === 'desc' ? Prisma.sql`<` : Prisma.sql`>`;
    const key = sortKeys[query.sort];
    conditions.push(Prisma.sql`(${key}, id) ${comparison} (${query.after.key}::float8, ${query.after.id}::uuid)`);
  }
  return Prisma.join(conditions, ' AND ');
}

const keyedIds = z.array(z.object({ id: z.string(), sort_key: z.number() }));

async function listRuns(prisma: PrismaClient, query: RunQuery): Promise<RunPage> {
  const key = sortKeys[query.sort];
  const direction = query.order === 'desc' ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  const rows = keyedIds.parse(
    await prisma.$queryRaw`
      SELECT id::text, ${key}::float8 AS sort_key FROM jobs
      WHERE ${runConditions(query)}
      ORDER BY ${key} ${direction}, id ${direction}
      LIMIT ${query.limit + 1}`,
  );
  const page = rows.slice(0, query.limit);
  return {
    runs: await findJobs(
      prisma,
      page.map((row) => row.id),
    ),
    keys: page.map((row) => row.sort_key),
    more: rows.length > query.limit,
  };
}

export function createRunListingRepository(prisma: PrismaClient): RunListingRepository {
  return { listRuns: (query) => listRuns(prisma, query) };
}
