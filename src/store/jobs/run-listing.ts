import { queryRows, type PrismaClient } from '../database.js';
import { Prisma } from '../generated/client.js';
import type { JobStatus } from '../generated/enums.js';
import type { RunSpec } from '../../domain/job-spec.js';
import { runSpecOfText, type Job, type JobOutcomeFields } from './rows.js';
import {
  boolean,
  integer,
  integerArray,
  nullableInteger,
  nullableNumber,
  nullableText,
  number,
  oneOf,
  text,
  textArray,
  type Row,
} from './row-fields.js';
import { jobStatuses } from './sql.js';

import { runSorts, type RunSort } from '../../domain/run-vocabulary.js';

export { runSorts, type RunSort };

export interface RunQuery {
  /** Only this owner's runs; every owner's when absent. */
  owner?: string;
  statuses?: JobStatus[];
  dataset?: string;
  /** Case-insensitive substring of the name. */
  nameContains?: string;
  tag?: string;
  /** Only pinned runs (true) or only unpinned ones (false). */
  pinned?: boolean;
  /** Case-insensitive substring of the notes. */
  notesContains?: string;
  sort: RunSort;
  order: 'asc' | 'desc';
  limit: number;
  /** The sort key and id of the last row of the previous page. */
  after?: { key: number; id: string };
}

/**
 * A run as a listing returns it: the job's columns a summary shows, what it shows of the spec (null
 * when that does not parse) and how many epochs the run has recorded. Times are ISO 8601 text in
 * UTC to the millisecond, as the API shows them (`Date.prototype.toISOString`'s form).
 */
export interface ListedRun extends Pick<
  Job,
  | 'id'
  | 'name'
  | 'status'
  | 'dataset'
  | 'tags'
  | 'inputShape'
  | 'parameterCount'
  | 'finalTestAccuracy'
  | 'bestTestAccuracy'
  | 'finalTestLoss'
  | JobOutcomeFields
  | 'durationMs'
  | 'backend'
  | 'pinned'
> {
  createdAt: string;
  finishedAt: string | null;
  /** finishedAt + the run's retention; null while unfinished or kept forever (pinned runs show theirs). */
  expiresAt: string | null;
  spec: RunSpec | null;
  epochCount: number;
}

// Postgres writes the times as the API shows them: cheaper than pg parsing them into Dates and
// `toISOString` writing them back. (Creation times are timestamptz(3): whole milliseconds.)
const isoTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

// What of the spec a summary shows, as JSON text: concatenated rather than built as a jsonb object
// and written out again, which cost Postgres more than the rest of the row. A key the spec lacks
// reads as null, as `runSpecOfText` expects.
const runSpecKeys = ['dataset', 'model', 'epochs', 'learningRate', 'batchSize', 'optimizer'];
const runSpecText = `concat('{', ${runSpecKeys
  .map((key, index) => `'${index ? ',' : ''}"${key}":', COALESCE((j.spec->'${key}')::text, 'null')`)
  .join(', ')}, '}')`;

// What a run's summary shows: a page reads these and no more, neither the epochs (a count of them)
// nor the whole spec, nor the columns of the job's lease and progress.
const listedRunColumns = Prisma.raw(`
  j.id::text AS "id", j.name, j.status::text AS "status", j.dataset, j.tags, j.input_shape AS "inputShape",
  j.parameter_count AS "parameterCount", j.final_test_accuracy AS "finalTestAccuracy",
  j.best_test_accuracy AS "bestTestAccuracy", j.final_test_loss AS "finalTestLoss",
  j.final_validation_accuracy AS "finalValidationAccuracy", j.best_validation_accuracy AS "bestValidationAccuracy",
  j.best_epoch AS "bestEpoch", j.stopped_early_epoch AS "stoppedEarlyEpoch",
  j.stopped_early_reason AS "stoppedEarlyReason", j.cancel_reason AS "cancelReason",
  j.sweep_id::text AS "sweepId", j.sweep_index AS "sweepIndex", j.duration_ms AS "durationMs", j.backend, j.pinned,
  ${isoTime('j.created_at')} AS "createdAt", ${isoTime('j.finished_at')} AS "finishedAt",
  ${isoTime('j.expires_at')} AS "expiresAt", ${runSpecText} AS "runSpec",
  (SELECT count(*)::int FROM epoch_metrics e WHERE e.job_id = j.id) AS "epochCount"`);

/** A row selected with `listedRunColumns` as a listed run. */
function toListedRun(row: Row): ListedRun {
  return {
    id: text(row, 'id'),
    name: nullableText(row, 'name'),
    status: oneOf(row, 'status', jobStatuses),
    dataset: text(row, 'dataset'),
    tags: textArray(row, 'tags'),
    inputShape: integerArray(row, 'inputShape'),
    parameterCount: integer(row, 'parameterCount'),
    finalTestAccuracy: nullableNumber(row, 'finalTestAccuracy'),
    bestTestAccuracy: nullableNumber(row, 'bestTestAccuracy'),
    finalTestLoss: nullableNumber(row, 'finalTestLoss'),
    finalValidationAccuracy: nullableNumber(row, 'finalValidationAccuracy'),
    bestValidationAccuracy: nullableNumber(row, 'bestValidationAccuracy'),
    bestEpoch: nullableInteger(row, 'bestEpoch'),
    stoppedEarlyEpoch: nullableInteger(row, 'stoppedEarlyEpoch'),
    stoppedEarlyReason: nullableText(row, 'stoppedEarlyReason'),
    cancelReason: nullableText(row, 'cancelReason'),
    sweepId: nullableText(row, 'sweepId'),
    sweepIndex: nullableInteger(row, 'sweepIndex'),
    durationMs: nullableInteger(row, 'durationMs'),
    backend: nullableText(row, 'backend'),
    pinned: boolean(row, 'pinned'),
    createdAt: text(row, 'createdAt'),
    finishedAt: nullableText(row, 'finishedAt'),
    expiresAt: nullableText(row, 'expiresAt'),
    spec: runSpecOfText(text(row, 'runSpec')),
    epochCount: integer(row, 'epochCount'),
  };
}

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

/** The WHERE conditions of a run query, its cursor included, all but the name's. */
function runConditions(query: RunQuery): Prisma.Sql {
  const conditions: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (query.owner !== undefined) conditions.push(Prisma.sql`j.owner = ${query.owner}`);
  if (query.statuses?.length) conditions.push(Prisma.sql`j.status::text IN (${Prisma.join(query.statuses)})`);
  if (query.dataset) conditions.push(Prisma.sql`j.dataset = ${query.dataset}`);
  if (query.tag) conditions.push(Prisma.sql`j.tags @> ARRAY[${query.tag}]::text[]`);
  if (query.pinned !== undefined) conditions.push(Prisma.sql`j.pinned = ${query.pinned}`);
  if (query.notesContains) conditions.push(Prisma.sql`j.notes ILIKE ${containing(query.notesContains)}`);
  if (query.after) {
    const comparison = query.order === 'desc' ? Prisma.sql`<` : Prisma.sql`>`;
    const sort = sortKeys[query.sort];
    conditions.push(
      Prisma.sql`(${sort.order}, j.id) ${comparison} (${sort.fromKey(query.after.key)}, ${query.after.id}::uuid)`,
    );
  }
  return Prisma.join(conditions, ' AND ');
}

/** The condition of a name search: a case-insensitive substring, `%`, `_` and a backslash taken literally. */
function nameCondition(nameContains: string): Prisma.Sql {
  return Prisma.sql`j.name ILIKE ${containing(nameContains)}`;
}

/** An ILIKE pattern of text containing `part`, `%`, `_` and a backslash taken literally. */
function containing(part: string): string {
  return `%${part.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/**
 * How many runs of the sort order a name search reads before it asks the name's index. Postgres
 * guesses how many names contain a substring from a sample, and guesses badly: at 100,000 runs
 * one in a hundred named "needle" was planned as 10 rows, read through the trigram index as
 * 1,000 rows and sorted (10-30 ms), where reading the newest runs until 21 match takes 2 ms.
 */
const nameProbeRuns = 5000;

/** A page of runs: the page's rows, each with its count of epochs, and one more if there are more. */
async function pageRows(prisma: PrismaClient, query: RunQuery, source: Prisma.Sql, filter: Prisma.Sql) {
  const sort = sortKeys[query.sort];
  const direction = query.order === 'desc' ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  // A statement with parameters is planned again on every run for the values at hand, which here
  // cost Postgres more than running it. Unfiltered, only the limit would be one: written into the
  // text instead, the statement is planned once per connection. Filters stay parameters and keep
  // their per-run plans (a rare tag is found through its index, a common one by walking the sort
  // order).
  const fetched = query.limit + 1;
  const unfiltered = filter.values.length === 0 && source.values.length === 0;
  const limit = unfiltered && Number.isSafeInteger(fetched) ? Prisma.raw(String(fetched)) : fetched;
  return queryRows(
    prisma,
    Prisma.sql`
    SELECT ${listedRunColumns}, ${sort.key}::float8 AS "sortKey" FROM ${source} j
    WHERE ${filter}
    ORDER BY ${sort.order} ${direction}, j.id ${direction}
    LIMIT ${limit}`,
  );
}

/** The rows of a page: a name search looks through the first runs in order, then through the index. */
async function listRows(prisma: PrismaClient, query: RunQuery) {
  const conditions = runConditions(query);
  if (!query.nameContains) return pageRows(prisma, query, Prisma.sql`jobs`, conditions);
  const name = nameCondition(query.nameContains);
  const sort = sortKeys[query.sort];
  const direction = query.order === 'desc' ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  // The first runs in the page's order (a prefix of it): when enough of them match, they are the page.
  const firstRuns = Prisma.sql`(SELECT * FROM jobs j WHERE ${conditions}
    ORDER BY ${sort.order} ${direction}, j.id ${direction} LIMIT ${Prisma.raw(String(nameProbeRuns))})`;
  const probed = await pageRows(prisma, query, firstRuns, name);
  if (probed.length > query.limit) return probed;
  return pageRows(prisma, query, Prisma.sql`jobs`, Prisma.sql`${conditions} AND ${name}`);
}

async function listRuns(prisma: PrismaClient, query: RunQuery): Promise<RunPage> {
  const rows = await listRows(prisma, query);
  const page = rows.slice(0, query.limit);
  return {
    runs: page.map(toListedRun),
    keys: page.map((row) => number(row, 'sortKey')),
    more: rows.length > query.limit,
  };
}

export function createRunListingRepository(prisma: PrismaClient): RunListingRepository {
  return { listRuns: (query) => listRuns(prisma, query) };
}
