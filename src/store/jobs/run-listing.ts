import { z } from 'zod';
import { queryRows, type PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import type { JobStatus } from '../generated/enums.js';
import { jobWithEpochsColumns, toJobsWithEpochs } from './job-select.js';
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

/**
 * How a sort orders rows (an indexed column or expression: see the migration `run_list_indexes`),
 * the key a cursor holds, and that key back as a value comparable to `order`. Unfinished runs have
 * no accuracy or duration yet; they sort as -1, below every real value.
 */
interface SortKey {
  order: Prisma.Sql;
  key: Prisma.Sql;
  fromKey: (key: number) => Prisma.Sql;
}

const asFloat = (key: number) => Prisma.sql`${key}::float8`;
const expressionKey = (expression: Prisma.Sql): SortKey => ({ order: expression, key: expression, fromKey: asFloat });

const sortKeys: Record<RunSort, SortKey> = {
  // Creation times are whole milliseconds (timestamptz(3)), so the key converts back exactly.
  created: {
    order: Prisma.sql`j.created_at`,
    key: Prisma.sql`(extract(epoch FROM j.created_at) * 1000)`,
    fromKey: (key) => Prisma.sql`to_timestamp(${key}::float8 / 1000)`,
  },
  finalAccuracy: expressionKey(Prisma.sql`COALESCE(j.final_test_accuracy, -1)`),
  bestAccuracy: expressionKey(Prisma.sql`COALESCE(j.best_test_accuracy, -1)`),
  duration: expressionKey(Prisma.sql`COALESCE(j.duration_ms, -1)::float8`),
};

/** The WHERE conditions of a run query, its cursor included. */
function runConditions(query: RunQuery): Prisma.Sql {
  const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (query.owner !== undefined) conditions.push(Prisma.sql`j.owner = ${query.owner}`);
  if (query.statuses?.length) conditions.push(Prisma.sql`j.status::text IN (${Prisma.join(query.statuses)})`);
  if (query.dataset) conditions.push(Prisma.sql`j.dataset = ${query.dataset}`);
  if (query.nameContains) {
    const pattern = `%${query.nameContains.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    conditions.push(Prisma.sql`j.name ILIKE ${pattern}`);
  }
  if (query.tag) conditions.push(Prisma.sql`j.tags @> ARRAY[${query.tag}]::text[]`);
  if (query.after) {
    const comparison = query.order === 'desc' ? Prisma.sql`<` : Prisma.sql`>`;
    const sort = sortKeys[query.sort];
    conditions.push(
      Prisma.sql`(${sort.order}, j.id) ${comparison} (${sort.fromKey(query.after.key)}, ${query.after.id}::uuid)`,
    );
  }
  return Prisma.join(conditions, ' AND ');
}

const sortKeyRows = z.array(z.object({ sortKey: z.number() }));

async function listRuns(prisma: PrismaClient, query: RunQuery): Promise<RunPage> {
  const sort = sortKeys[query.sort];
  const direction = query.order === 'desc' ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  // One statement: the page's ids, rows and epochs (epochs only of the rows on the page).
  const rows = await queryRows(
    prisma,
    Prisma.sql`
    SELECT ${jobWithEpochsColumns}, ${sort.key}::float8 AS "sortKey" FROM jobs j
    WHERE ${runConditions(query)}
    ORDER BY ${sort.order} ${direction}, j.id ${direction}
    LIMIT ${query.limit + 1}`,
  );
  const page = rows.slice(0, query.limit);
  return {
    runs: toJobsWithEpochs(page),
    keys: sortKeyRows.parse(page).map((row) => row.sortKey),
    more: rows.length > query.limit,
  };
}

export function createRunListingRepository(prisma: PrismaClient): RunListingRepository {
  return { listRuns: (query) => listRuns(prisma, query) };
}
