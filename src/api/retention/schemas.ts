import { z } from 'zod';
import { decimalInteger, isoTime, ownerFilter } from '../http/common-schemas.js';

export const retentionPreviewQuery = z
  .object({
    owner: ownerFilter('runs'),
    limit: decimalInteger(1, 1000, '100').optional().describe('Runs listed at most (of each list); 100 unless told'),
  })
  .strict();

const expiredRun = z.object({
  id: z.string(),
  name: z.string().nullable(),
  owner: z.string(),
  finishedAt: isoTime,
  expiresAt: isoTime,
  bytes: z.int().describe('What the run holds in Postgres: history, epoch metrics, models, kept checkpoints'),
});

const heldBackRun = z.object({
  id: z.string(),
  name: z.string().nullable(),
  owner: z.string(),
  expiresAt: isoTime,
  reason: z
    .enum(['pinned', 'active-children'])
    .describe('pinned: unpin it to let it go; active-children: a fork of it is still queued or running'),
});

export const retentionPreview = z
  .object({
    count: z.int().describe('Runs the next purge would delete (all of them, not only those listed)'),
    runs: z.array(expiredRun).describe('Those runs, soonest expired first, up to `limit`'),
    bytes: z.int().describe('What the listed runs hold'),
    heldBack: z.array(heldBackRun).describe('Expired runs the purge keeps, and why, up to `limit`'),
  })
  .meta({ id: 'RetentionPreview' });
export type RetentionPreview = z.output<typeof retentionPreview>;
