import { z } from 'zod';
import { queryRows, type PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import type { JobStatus } from '../generated/enums.js';
import type { RunSpec } from '../../domain/job-spec.js';
import { jobWithEpochsRow } from './job-select.js';
import { runSpecOfText } from './rows.js';

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

// What a run's summary shows: a page reads these and no more, neither the epochs (a count of them)
// nor the whole spec, nor the columns of the job's lease and progress.
const listedRunRow = jobWithEpochsRow
  .pick({
    id: true,
    name: true,
    status: true,
    dataset: true,
    tags: true,
    inputShape: true,
    parameterCount: true,
    finalTestAccuracy: true,
    bestTestAccuracy: true,
    finalTestLoss: true,
    finalValidationAccuracy: true,
    bestValidationAccuracy: true,
    bestEpoch: true,
    stoppedEarlyEpoch: true,
    stoppedEarlyReason: true,
    cancelReason: true,
    sweepId: true,
    sweepIndex: true,
    durationMs: true,
    backend: true,
    createdAt: true,
    finishedAt: true,
  })
  .extend({ runSpec: z.string(), epochCount: z.int(), sortKey: z.number() });

const listedRunColumns = Prisma.raw(`
  j.id::text AS "id", j.name, j.status::text AS "status", j.dataset, j.tags, j.input_shape AS "inputShape",
  j.parameter_count AS "parameterCount", j.final_test_accuracy AS "finalTestAccuracy",
  j.best_test_accuracy AS "bestTestAccuracy", j.final_test_loss AS "finalTestLoss",
  j.final_validation_accuracy AS "finalValidationAccuracy", j.best_validation_accuracy AS "bestValidationAccuracy",
  j.best_epoch AS "bestEpoch", j.stopped_early_epoch AS "stoppedEarlyEpoch",
  j.stopped_early_reason AS "stoppedEarlyReason", j.cancel_reason AS "cancelReason",
  j.sweep_id::text AS "sweepId", j.sweep_index AS "sweepIndex", j.duration_ms AS "durationMs", j.backend,
  j.created_at AS "createdAt", j.finished_at AS "finishedAt",
  jsonb_build_object('dataset', j.spec->'dataset', 'model', j.spec->'model', 'epochs', j.spec->'epochs',
    'learningRate', j.spec->'learningRate', 'batchSize', j.spec->'batchSize',
    'optimizer', j.spec->'optimizer')::text AS "runSpec",
  (SELECT count(*)::int FROM epoch_metrics e WHERE e.job_id = j.id) AS "epochCount"`);

/**
 * A run as a listing returns it: the job's columns a summary shows, what it shows of the spec (null
 * when that does not parse) and how many epochs the run has recorded.
 */
export type ListedRun = Omit<z.output<typeof listedRunRow>, 'runSpec' | 'sortKey'> & { spec: RunSpec | null };

export interface RunPage {
  runs: ListedRun[];
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

const listedRunRows = z.array(listedRunRow);

async function listRuns(prisma: PrismaClient, query: RunQuery): Promise<RunPage> {
  const sort = sortKeys[query.sort];
  const direction = query.order === 'desc' ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  // One statement: the page's rows, each with its count of epochs.
  const rows = await queryRows(
    prisma,
    Prisma.sql`
    SELECT ${listedRunColumns}, ${sort.key}::float8 AS "sortKey" FROM jobs j
    WHERE ${runConditions(query)}
    ORDER BY ${sort.order} ${direction}, j.id ${direction}
    LIMIT ${query.limit + 1}`,
  );
  const page = listedRunRows.parse(rows.slice(0, query.limit));
  return {
    runs: page.map(({ runSpec, sortKey: _, ...run }) => ({ ...run, spec: runSpecOfText(runSpec) })),
    keys: page.map((row) => row.sortKey),
    more: rows.length > query.limit,
  };
}

export function createRunListingRepository(prisma: PrismaClient): RunListingRepository {
  return { listRuns: (query) => listRuns(prisma, query) };
}
