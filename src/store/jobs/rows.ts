import {
  describeSpecIssues,
  parseStoredJobSpec,
  runSpecShape,
  toStoredJobSpec,
  type RunSpec,
  type JobSpec,
  type StoredJobSpec,
} from '../../domain/job-spec.js';
import { localOwner } from '../../domain/access.js';
import { Prisma } from '../generated/client.js';
import type { EpochMetric as EpochMetricRow, Job as JobRow } from '../generated/client.js';

/** An epoch's metrics as a job carries them; its evaluation is read on its own (`findEvaluation`). */
export type EpochMetric = Omit<EpochMetricRow, 'evaluation'>;

/**
 * A job's spec as read from its row: parsed once, here. A spec that no longer parses (a row from an
 * older version) does not make the row unreadable: the job comes back with `spec: null` and
 * `specError` saying why, so listings still show it and the worker fails it with that reason.
 */
export type JobSpecField = { spec: StoredJobSpec; specError: null } | { spec: null; specError: string };

/** A job as the store returns it. */
export type Job = Omit<JobRow, 'spec'> & JobSpecField;
export type JobWithEpochs = Job & { epochs: EpochMetric[] };
/** A job's validation figures, best epoch, early stop, cancel reason and sweep: what its summaries show of them. */
export type JobOutcomeFields =
  | 'finalValidationAccuracy'
  | 'bestValidationAccuracy'
  | 'bestEpoch'
  | 'stoppedEarlyEpoch'
  | 'stoppedEarlyReason'
  | 'cancelReason'
  | 'sweepId'
  | 'sweepIndex';

/** A job to insert; a spec without a seed is stored with seed 0, the one it has always trained with. */
export interface NewJob {
  id: string;
  spec: JobSpec;
  parameterCount: number;
  totalSteps: number;
  /** The input shape of the dataset at submission, kept so views need not find the dataset (it may be deleted). */
  inputShape?: readonly number[];
  /** The owner of the key that submitted it; `localOwner` (the column's default) when absent. */
  owner?: string;
  /** Set for a sweep's run: its sweep and its index there. */
  sweep?: { id: string; index: number };
}

/** Prisma's `include` for a job with its epochs, in order, without their evaluations (kilobytes each). */
export const withEpochs = { epochs: { orderBy: { epoch: 'asc' }, omit: { evaluation: true } } } as const;

/** The one conversion of a spec into the JSON column: a stored spec is plain JSON as it is. */
function specJson(spec: StoredJobSpec): Prisma.InputJsonObject {
  return spec;
}

/** The row a new job is inserted as. */
export function newJobRow(job: NewJob) {
  return {
    id: job.id,
    name: job.spec.name ?? null,
    tags: job.spec.tags ?? [],
    dataset: job.spec.dataset,
    spec: specJson(toStoredJobSpec(job.spec)),
    parameterCount: job.parameterCount,
    totalSteps: job.totalSteps,
    inputShape: [...(job.inputShape ?? [])],
    ...(job.owner === undefined ? {} : { owner: job.owner }),
    ...(job.sweep ? { sweepId: job.sweep.id, sweepIndex: job.sweep.index } : {}),
  };
}

/**
 * A new job's row as one element of the JSON array `insertJobs` sends: keys are the columns,
 * and every column is given, the owner too (the column's default when the job has none).
 */
export function newJobRecord(job: NewJob) {
  const row = newJobRow(job);
  return {
    id: row.id,
    name: row.name,
    tags: row.tags,
    dataset: row.dataset,
    spec: row.spec,
    parameter_count: row.parameterCount,
    total_steps: row.totalSteps,
    input_shape: row.inputShape,
    owner: job.owner ?? localOwner,
    sweep_id: job.sweep?.id ?? null,
    sweep_index: job.sweep?.index ?? null,
  };
}

/**
 * The INSERT of new jobs' rows, aliased `j` for a RETURNING to follow; with `when`, only the rows
 * (aliased `r`) for which it holds. The rows go as one JSON parameter, so its text is the same for
 * any number of jobs and Postgres parses and plans it once per connection (a CTE of one INSERT per
 * job cost several times the inserts themselves).
 */
export function insertJobs(jobs: readonly NewJob[], when: Prisma.Sql = Prisma.sql`TRUE`): Prisma.Sql {
  return Prisma.sql`INSERT INTO jobs AS j
      (id, name, tags, dataset, spec, parameter_count, total_steps, input_shape, owner, sweep_id, sweep_index)
    SELECT r.id, r.name, r.tags, r.dataset, r.spec, r.parameter_count, r.total_steps, r.input_shape, r.owner,
      r.sweep_id, r.sweep_index
    FROM jsonb_to_recordset(${JSON.stringify(jobs.map(newJobRecord))}::jsonb) AS r(id uuid, name text, tags text[],
      dataset text, spec jsonb, parameter_count int, total_steps int, input_shape int[], owner text, sweep_id uuid,
      sweep_index int)
    WHERE ${when}`;
}

function specField(stored: Prisma.JsonValue): JobSpecField {
  const parsed = parseStoredJobSpec(stored);
  return parsed.ok
    ? { spec: parsed.spec, specError: null }
    : { spec: null, specError: describeSpecIssues(parsed.issues) };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const field of Object.values(value)) deepFreeze(field);
    Object.freeze(value);
  }
  return value;
}

/**
 * `parse` of JSON text, at most once while the text stays cached. Parsing is a pure function of the
 * text, and listings read the same specs again and again (every page of runs holds 20 of them); the
 * results are frozen because the jobs that share one must not change it under each other. Oldest out
 * past the bound.
 */
function parsedByText<T>(parse: (json: Prisma.JsonValue) => T, maxEntries = 2000): (text: string) => T {
  const parsed = new Map<string, T>();
  return (text) => {
    const cached = parsed.get(text);
    if (cached !== undefined) return cached;
    const value = deepFreeze(parse(JSON.parse(text) as Prisma.JsonValue));
    if (parsed.size >= maxEntries) parsed.delete(parsed.keys().next().value as string);
    parsed.set(text, value);
    return value;
  };
}

/** A spec read as JSON text, parsed as `toJob` parses it. */
export const specFieldOfText = parsedByText(specField);

function runSpec(json: Prisma.JsonValue): RunSpec | null {
  // Keys the row lacks come back as JSON null; absent, the spec's defaults fill them as in a whole spec.
  const fields = json !== null && typeof json === 'object' && !Array.isArray(json) ? json : {};
  const present = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
  const parsed = runSpecShape.safeParse(present);
  return parsed.success ? parsed.data : null;
}

/** The fields of a spec a run summary shows, read as a JSON object's text; null when they do not parse. */
export const runSpecOfText = parsedByText(runSpec);

/** A job row (with or without its relations) as the store returns it: its spec parsed. */
export function toJob<Row extends JobRow>(row: Row): Omit<Row, 'spec'> & JobSpecField {
  const { spec, ...columns } = row;
  return { ...columns, ...specField(spec) };
}
