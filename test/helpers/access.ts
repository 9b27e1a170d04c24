import type { AccessControl } from '../../src/api/http/access-control.js';
import { createKeysService, type KeysService } from '../../src/api/keys/keys-service.js';
import type { Limits } from '../../src/api/http/quotas.js';
import { createRateLimiter } from '../../src/api/http/rate-limiter.js';
import type { Role } from '../../src/domain/access.js';
import type { Logger } from '../../src/logger.js';
import type { Redis } from '../../src/queue/redis.js';
import { createApiKeysRepository } from '../../src/store/api-keys.js';
import type { PrismaClient } from '../../src/store/database.js';

/** Limits no test meets by accident: for tests of something other than the limits. */
export const generousLimits: Limits = {
  requestsPerKeyPerMinute: 1_000_000,
  submissionsPerOwnerPerMinute: 1_000_000,
  activeJobsPerOwner: 1_000_000,
  failedAuthPerAddressPerMinute: 1_000_000,
};

/** AUTH=required on a test's own database and queue prefix. */
export function requiredAccess(
  prisma: PrismaClient,
  redis: Redis,
  prefix: string,
  logger: Logger,
  options: { limits?: Partial<Limits>; adminKey?: string } = {},
): Extract<AccessControl, { mode: 'required' }> {
  return {
    mode: 'required',
    keys: createApiKeysRepository(prisma),
    limiter: createRateLimiter(redis, prefix),
    limits: { ...generousLimits, ...options.limits },
    logger,
    ...(options.adminKey === undefined ? {} : { adminKey: options.adminKey }),
  };
}

/** Keys straight from the store, as `npm run keys -- create` makes them. */
export function testKeys(prisma: PrismaClient): KeysService & {
  issue: (owner: string, role: Role) => Promise<{ key: string; id: string }>;
} {
  const keys = createKeysService(createApiKeysRepository(prisma));
  return {
    ...keys,
    async issue(owner, role) {
      const { key, record } = await keys.create({ owner, role, name: `${owner}-${role}` });
      return { key, id: record.id };
    },
  };
}

/** The Authorization header of a key. */
export const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
