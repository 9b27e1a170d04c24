import { z } from 'zod';
import { jobSpecSchema, jobSpecShape } from '../../domain/job-spec.js';
import { jobStatuses, runSorts } from '../../domain/run-vocabulary.js';
import { text } from '../../domain/text.js';
import { limits } from '../../domain/spec-vocabulary.js';
import { retentionSources } from '../../domain/retention.js';
import { decimalInteger, isoTime, jobId, ownerFilter, pageCursor, pageOf } from '../http/common-schemas.js';
import { childLink, parentLink } from './fork-schemas.js';
import { epochMetrics, validationSummary } from './metrics-schemas.js';

/**
 * A job spec: what POST /jobs takes (defaults may be left out) and what a job shows (every default
 * filled in, and a seed). The rules that depend on the dataset and the server's configuration are
 * checked by the jobs service at submission (an uploaded dataset may be deleted since), so this
 * schema leaves them out.
 */
export const jobSpec = jobSpecShape.meta({ id: 'JobSpec' });

/** The exercise's first network on a slice of MNIST: the example request body. */
export const exampleSpec = {
  name: 'mlp-128',
  tags: ['demo'],
  trainSamples: 2000,
  testSamples: 500,
  seed: 1,
  model: {
    layers: [
      { type: 'dense', units: 128, activation: 'relu' },
      { type: 'dense', units: 10 },
    ],
  },
  epochs: 2,
  learningRate: 0.05,
  batchSize: 64,
  optimizer: 'sgd',
};

/** The body of POST /jobs: a job spec, with an example. */
export const jobSpecBody = jobSpecSchema({ maxParameters: Number.MAX_SAFE_INTEGER }).meta({
  description: 'A job spec; unknown fields are errors at every level',
  examples: [exampleSpec],
});

export const jobStatus = z.enum(jobStatuses).meta({ id: 'JobStatus' });

/** A finished run's retention: how long it is kept and which level said so. */
export const runRetention = z
  .object({
    days: z.int().nullable().describe('Days it is kept after it finished; null: kept forever'),
    source: z
      .enum(retentionSources)
      .describe(
        "Where that came from: its own spec's retention, its sweep's, its owner's default or RUN_RETENTION_DAYS",
      ),
  })
  .meta({ id: 'RunRetention' });

/** When a run is deleted by retention. */
const expiresAt = isoTime
  .nullable()
  .describe('When retention deletes it; null while it is unfinished, pinned or kept forever');

/** The fields that name a job, first in a job and in a run alike. */
const jobIdentity = {
  id: jobId,
  name: z.string().nullable(),
  status: jobStatus,
  dataset: z.string(),
};

/** The hyperparameters every run has, in a run of GET /jobs and (each when it differs) on /compare. */
export const coreHyperparameters = {
  epochs: z.int(),
  learningRate: z.number(),
  batchSize: z.int(),
  optimizer: z.string(),
};

/** The public JSON shape of a job. */
export const jobView = z
  .object({
    ...jobIdentity,
    spec: jobSpec,
    backend: z.string().nullable().describe('The training backend of the last attempt: tensorflow, wasm or cpu'),
    parameterCount: z.int(),
    attempts: z.int(),
    progress: z.object({
      epoch: z.int(),
      step: z.int(),
      totalSteps: z.int(),
      fraction: z.number().describe('step / totalSteps, 0..1'),
    }),
    metrics: z.object({ epochs: z.array(epochMetrics) }),
    error: z.string().nullable(),
    tags: z.array(z.string()),
    architecture: z.string().describe('Input features, then every dense layer\'s units: "784-512-512-10"'),
    finalTestAccuracy: z.number().nullable(),
    bestTestAccuracy: z.number().nullable(),
    ...validationSummary,
    cancelRequested: z.boolean(),
    notes: z.string().nullable().describe('Markdown the owner wrote about the run (PATCH /jobs/:id)'),
    pinned: z.boolean(),
    retention: runRetention
      .nullable()
      .describe('Set when the run finishes; null before, or when no retention applies (kept forever)'),
    expiresAt,
    maxDurationSeconds: z
      .int()
      .nullable()
      .describe("The time limit it trains under: its spec's maxDurationSeconds, else its owner's default; null: none"),
    createdAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    updatedAt: isoTime,
    durationMs: z.int().nullable(),
    links: z.object({ self: z.string(), history: z.string(), events: z.string(), cancel: z.string() }),
    parent: parentLink
      .nullable()
      .optional()
      .describe('The run this one was forked from (GET /jobs/:id and forks); null for a run submitted afresh'),
    children: z.array(childLink).optional().describe('Runs forked from this one, oldest first (GET /jobs/:id)'),
  })
  .meta({ id: 'Job' });
export type JobView = z.output<typeof jobView>;

/** One line of GET /jobs: enough to compare runs at a glance. */
export const runSummary = z
  .object({
    ...jobIdentity,
    tags: z.array(z.string()),
    architecture: z.string(),
    parameterCount: z.int(),
    hyperparameters: z.object(coreHyperparameters),
    epochsCompleted: z.int(),
    finalTestAccuracy: z.number().nullable(),
    bestTestAccuracy: z.number().nullable(),
    ...validationSummary,
    finalTestLoss: z.number().nullable(),
    durationMs: z.int().nullable(),
    backend: z.string().nullable(),
    pinned: z.boolean(),
    expiresAt,
    createdAt: isoTime,
    finishedAt: isoTime.nullable(),
    links: z.object({ self: z.string() }),
  })
  .meta({ id: 'RunSummary' });
export type RunSummary = z.output<typeof runSummary>;

export const runList = pageOf('runs', runSummary, 'RunList');
export type RunList = z.output<typeof runList>;

export const runListQuery = z.strictObject({
  status: z
    .string()
    .meta({ examples: ['completed,failed'] })
    .transform((value) => value.split(',').map((part) => part.trim()))
    .pipe(z.array(z.enum(jobStatuses)))
    .optional()
    .describe('Comma-separated statuses'),
  dataset: text().max(100).optional(),
  name: text().min(1).max(200).optional().describe('Case-insensitive part of the name'),
  tag: text().min(1).max(50).optional(),
  pinned: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === 'true'))
    .describe('Only pinned runs (`true`) or only the others (`false`)'),
  notes: text().min(1).max(200).optional().describe('Case-insensitive part of the notes'),
  owner: ownerFilter('runs'),
  sort: z
    .enum(runSorts)
    .default('created')
    .meta({ examples: ['bestAccuracy'] }),
  order: z.enum(['asc', 'desc']).default('desc'),
  limit: decimalInteger(1, 100, '10').default(20),
  cursor: pageCursor('`nextCursor` of the previous page, with the same sort and order'),
});
export type RunListQuery = z.output<typeof runListQuery>;

/** The only header POST /jobs reads. */
export const submitHeaders = z.object({
  'idempotency-key': z
    .string()
    .optional()
    .describe('1 to 200 printable ASCII characters; a repeat with the same body returns the same job'),
});

/** The body of PATCH /jobs/:id: what a run says about itself. At least one field. */
export const jobEditBody = z
  .strictObject({
    name: text().trim().min(1).max(limits.nameLength).nullable().optional().describe('null clears it'),
    tags: z
      .array(text().trim().min(1).max(limits.tagLength))
      .max(limits.tags)
      .refine((tags) => new Set(tags).size === tags.length, 'tags must be unique')
      .optional(),
    notes: text().max(10_000).nullable().optional().describe('Markdown, up to 10,000 characters; null clears them'),
    pinned: z.boolean().optional(),
  })
  .refine((edit) => Object.keys(edit).length > 0, 'give at least one of name, tags, notes, pinned')
  .meta({
    description: 'Fields to change; the others stay',
    examples: [{ notes: 'Best so far: **lr 0.003**', pinned: true }],
  });
export type JobEditBody = z.output<typeof jobEditBody>;
