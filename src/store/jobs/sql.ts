import { Prisma } from '../generated/client.js';
import type { JobStatus } from '../generated/enums.js';

import { jobStatuses, terminalStatuses, type SameUnion, type TerminalStatus } from '../../domain/run-vocabulary.js';

export { jobStatuses, terminalStatuses, type TerminalStatus };

// Fails to compile when the database's statuses and the domain's differ, either way.
const _sameStatuses: SameUnion<JobStatus, (typeof jobStatuses)[number]> = true;

/** A job no live attempt holds: still queued, or running under a lease that has run out. */
export const unheld = Prisma.sql`(status = 'queued' OR (status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < now())))`;

/** A job that has not reached a final status yet. */
export const unfinished = Prisma.sql`status::text NOT IN (${Prisma.join(terminalStatuses)})`;

/** The job's time from its first start to now, for a job that is ending. */
export const durationSoFar = Prisma.sql`CASE WHEN started_at IS NULL THEN NULL ELSE (extract(epoch FROM now() - started_at) * 1000)::int END`;
