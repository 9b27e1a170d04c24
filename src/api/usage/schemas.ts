import { z } from 'zod';
import { isoTime, ownerFilter } from '../http/common-schemas.js';

const usagePeriod = z.object({
  runs: z
    .object({
      queued: z.int(),
      running: z.int(),
      completed: z.int(),
      failed: z.int(),
      cancelled: z.int(),
      total: z.int(),
    })
    .describe('Runs created in the period, by status now'),
  trainingSeconds: z.number().describe('Training time of those runs that have ended'),
  storedBytes: z
    .object({
      history: z.int().describe('Loss histories, their downsampled samples and epoch metrics'),
      models: z.int(),
      checkpoints: z.int(),
      datasets: z.int().describe('Datasets uploaded in the period'),
      total: z.int(),
    })
    .describe('What the period’s runs and uploads keep stored now'),
});

export const ownerUsage = z
  .object({
    owner: z.string(),
    thisMonth: usagePeriod.describe('Since the start of this month (UTC)'),
    total: usagePeriod,
  })
  .meta({ id: 'OwnerUsage' });
export type OwnerUsage = z.output<typeof ownerUsage>;

export const usageAnswer = z
  .object({
    monthStart: isoTime,
    owners: z.array(ownerUsage).describe("The key owner's alone, or an admin's view of every owner, by name"),
  })
  .meta({ id: 'Usage' });

export const usageQuery = z.object({ owner: ownerFilter('usage') }).strict();
