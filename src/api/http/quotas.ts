import { QuotaExceeded, RateLimited } from '../../domain/errors.js';
import type { Logger } from '../../logger.js';
import type { RateLimiter } from './rate-limiter.js';

/** The configurable limits of access control; 0 turns a limit off. */
export interface Limits {
  requestsPerKeyPerMinute: number;
  submissionsPerOwnerPerMinute: number;
  activeJobsPerOwner: number;
  failedAuthPerAddressPerMinute: number;
}

export const minuteMs = 60_000;

/** Where a subject stands against one limit after a counted hit, as the RateLimit-* headers say it. */
export interface LimitState {
  limit: number;
  remaining: number;
  /** Seconds until the window ends. */
  resetSeconds: number;
}

/**
 * Counts one hit of `subject`; throws RateLimited once it passes `max` hits in the current minute.
 * Returns where the subject stands, or null when the limit is off or could not be counted (Redis
 * trouble lets the hit through).
 */
export async function countAgainst(
  limiter: RateLimiter,
  logger: Logger,
  limit: { name: string; description: string; max: number },
  subject: string,
): Promise<LimitState | null> {
  if (limit.max <= 0) return null;
  let hit;
  try {
    hit = await limiter.hit(limit.name, subject, minuteMs);
  } catch (error) {
    // A limit that cannot be counted does not take the API down with Redis; the outage is logged.
    logger.warn({ err: error, limit: limit.name }, 'could not count a rate limit; letting the request through');
    return null;
  }
  const resetSeconds = Math.max(1, Math.ceil(hit.resetMs / 1000));
  if (hit.count > limit.max) throw new RateLimited(limit.description, limit.max, resetSeconds);
  return { limit: limit.max, remaining: limit.max - hit.count, resetSeconds };
}

/**
 * The IETF draft's RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset headers (the names
 * @fastify/rate-limit sends with its draft-spec option), so a client can slow down before a 429.
 */
export function rateLimitHeaders(state: LimitState): Record<string, string> {
  return {
    'ratelimit-limit': String(state.limit),
    'ratelimit-remaining': String(state.remaining),
    'ratelimit-reset': String(state.resetSeconds),
  };
}

export interface SubmissionQuotaDeps {
  limiter: RateLimiter;
  countActive: (owner: string) => Promise<number>;
  limits: Pick<Limits, 'submissionsPerOwnerPerMinute' | 'activeJobsPerOwner'>;
  logger: Logger;
}

/**
 * Admits one more job of `owner`, or throws: QuotaExceeded when it already has the most queued
 * plus running jobs it may, RateLimited past its submissions per minute. Two submissions racing
 * for the last free slot can both pass the count; the quota is a guard against runaway clients,
 * not an exact reservation.
 */
export function createSubmissionQuota({ limiter, countActive, limits, logger }: SubmissionQuotaDeps) {
  return async function admit(owner: string): Promise<void> {
    if (limits.activeJobsPerOwner > 0) {
      const active = await countActive(owner);
      if (active >= limits.activeJobsPerOwner) {
        throw new QuotaExceeded(`queued plus running jobs of owner ${owner}`, active, limits.activeJobsPerOwner);
      }
    }
    await countAgainst(
      limiter,
      logger,
      {
        name: 'submissions',
        description: `job submissions per owner (${owner})`,
        max: limits.submissionsPerOwnerPerMinute,
      },
      owner,
    );
  };
}

export type SubmissionQuota = ReturnType<typeof createSubmissionQuota>;
