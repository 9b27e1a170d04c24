import { z } from 'zod';
import { maxDurationSecondsLimit, retentionDays } from '../../domain/retention.js';
import { isoTime } from '../http/common-schemas.js';
import { owner } from '../keys/schemas.js';

/** The path of /owners/:owner routes: an owner name as keys name them, checked before any lookup. */
export const ownerParams = z.object({ owner });

const settingsFields = {
  retentionDays: retentionDays
    .nullable()
    .describe(
      "Days this owner's finished runs are kept when neither the run nor its sweep says; null: no default (RUN_RETENTION_DAYS applies)",
    ),
  maxDurationSeconds: z
    .int()
    .min(1)
    .max(maxDurationSecondsLimit)
    .nullable()
    .describe("The time limit of this owner's runs submitted without maxDurationSeconds; null: none"),
};

export const ownerSettingsBody = z.strictObject(settingsFields).meta({ id: 'OwnerSettingsBody' });
export type OwnerSettingsBody = z.output<typeof ownerSettingsBody>;

export const ownerSettingsView = z
  .object({
    owner: z.string(),
    ...settingsFields,
    updatedAt: isoTime.nullable().describe('When an admin last set them; null if never'),
  })
  .meta({ id: 'OwnerSettings' });
export type OwnerSettingsView = z.output<typeof ownerSettingsView>;
