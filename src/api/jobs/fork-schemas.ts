import { z } from 'zod';
import { forkOverrideFields } from '../../domain/fork.js';
import { jobSpecShape } from '../../domain/job-spec.js';
import { isoTime, jobId } from '../http/common-schemas.js';

/** One checkpoint a run keeps: an epoch it can be forked or continued from. */
export const keptCheckpoint = z
  .object({
    epoch: z.int().describe('Epochs finished when it was taken'),
    step: z.int().describe('Steps done when it was taken'),
    bytes: z.int().describe('Stored size of its weights, optimizer state and data order'),
    best: z
      .boolean()
      .describe("The best epoch's (validation accuracy, else test accuracy); kept whatever the retention"),
    createdAt: isoTime,
  })
  .meta({ id: 'KeptCheckpoint' });

export const checkpointList = z.object({ jobId, checkpoints: z.array(keptCheckpoint) }).meta({ id: 'CheckpointList' });
export type CheckpointList = z.output<typeof checkpointList>;

const overridable = jobSpecShape.pick(
  Object.fromEntries(forkOverrideFields.map((field) => [field, true])) as Record<
    (typeof forkOverrideFields)[number],
    true
  >,
);

/** The body of POST /jobs/:id/fork, as documented; the jobs service checks it and names every bad field. */
export const forkBody = z
  .strictObject({
    fromEpoch: z
      .int()
      .min(1)
      .optional()
      .describe('A kept epoch (GET /jobs/:id/checkpoints); the latest kept one when absent'),
    overrides: overridable
      .extend({ earlyStopping: jobSpecShape.shape.earlyStopping.unwrap().nullable().optional() })
      .partial()
      .optional()
      .describe('Fields of the spec to change; the model, the dataset and the data split cannot be changed'),
  })
  .optional()
  .meta({
    description: 'Where to fork from and what to change; an empty body continues from the latest kept epoch',
    examples: [{ fromEpoch: 1, overrides: { learningRate: 0.01 } }, { overrides: { epochs: 10 } }],
  });

/** What a forked job starts from besides its steps: always the weights; optimizer state and batches unless changed. */
export const resumed = z
  .object({
    weights: z.literal(true),
    optimizerState: z.boolean().describe('False when the fork changed the optimizer: it starts afresh'),
    dataOrder: z.boolean().describe("False when the fork changed the batch size: its batches differ from the parent's"),
  })
  .meta({ id: 'Resumed' });

/** The run a job was forked from, and where. */
export const parentLink = z
  .object({
    jobId,
    epoch: z.int().describe("The parent's epoch the fork started after"),
    step: z.int().describe("The parent's step the fork started after; the child's steps number on from it"),
    deleted: z.boolean().describe('The parent was deleted: the lineage ends at this fork point'),
    resumed,
  })
  .meta({ id: 'ParentLink' });

/** A run forked from this one. */
export const childLink = z.object({ jobId, epoch: z.int(), step: z.int() }).meta({ id: 'ChildLink' });
