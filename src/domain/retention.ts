// How long a finished run is kept (README "Retention"): the vocabulary shared by the job and sweep
// specs, the owner settings and the views. The precedence itself is applied where runs finish, in
// Postgres (migration 20261205100000_retention), so every path that ends a run stamps its expiry.
import { z } from 'zod';

/** The longest retention a job, sweep, owner or server may set: about ten years. */
export const maxRetentionDays = 3650;

/** The longest `maxDurationSeconds`: about 24.8 days, the longest delay a Node timer takes. */
export const maxDurationSecondsLimit = 2_147_483;

/** A number of days to keep a run after it ends. */
export const retentionDays = z.int().min(1).max(maxRetentionDays);

/** `retention` of a job or sweep spec: `{ days }` to remove the run that long after it ends, `{ days: null }` to keep it forever. */
export const retentionSpec = z.strictObject({
  days: retentionDays.nullable(),
});
export type RetentionSpec = z.output<typeof retentionSpec>;

/** Which level a run's retention came from, in order of precedence. */
export const retentionSources = ['job', 'sweep', 'owner', 'server'] as const;
export type RetentionSource = (typeof retentionSources)[number];

/** A finished run's retention: its days (null: kept forever) and where they came from. */
export interface RunRetention {
  days: number | null;
  source: RetentionSource;
}

/** The retention a run was stamped with when it finished, or null when none applied (kept forever). */
export function runRetention(days: number | null, source: string | null): RunRetention | null {
  const known = retentionSources.find((name) => name === source);
  return known === undefined ? null : { days, source: known };
}

/** When a run goes: null while it is pinned or kept forever (the stamp is null then). */
export function runExpiry<T>(expiresAt: T | null, pinned: boolean): T | null {
  return pinned ? null : expiresAt;
}
