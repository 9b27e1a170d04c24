import { Prisma } from '../generated/client.js';
import type { JobStatus } from '../generated/enums.js';

/** Every status a job can have, in the order a job goes through them. */
export const jobStatuses = [
  'queued',
  'running',
  'completed',
  'failed',
  'cancelled',
] as const satisfies readonly JobStatus[];

// Fails to compile when the schema gains a status the list above lacks.
const _everyStatusListed: [Exclude<JobStatus, (typeof jobStatuses)[number]>] extends [never] ? true : never = true;

/** The statuses a job ends in; none of them is ever left. */
export const terminalStatuses = ['completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];

export type TerminalStatus = (typeof terminalStatuses)[number];

/** A job no live attempt holds: still queued, or running under a lease that has run out. */
export const unheld = Prisma.sql`(status = 'queued' OR (status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < now())))`;

/** A job that has not reached a final status yet. */
export const unfinished = Prisma.sql`status::text NOT IN (${Prisma.join(terminalStatuses)})`;

/** The job's time from its first start to now, for a job that is ending. */
export const durationSoFar = Prisma.sql`CASE WHEN started_at IS NULL THEN NULL ELSE (extract(epoch FROM now() - started_at) * 1000)::int END`;
