import { visibleOwner, type Viewer } from '../../domain/access.js';
import { emptyUsage, type Usage, type UsageRepository } from '../../store/usage-repository.js';
import { guardStore } from '../http/store-guard.js';
import type { OwnerUsage } from './schemas.js';

const sum = (values: Record<string, number>) => Object.values(values).reduce((total, value) => total + value, 0);

function periodView(usage: Usage): OwnerUsage['total'] {
  return {
    runs: { ...usage.runs, total: sum(usage.runs) },
    trainingSeconds: Math.round(usage.trainingSeconds * 1000) / 1000,
    storedBytes: { ...usage.storedBytes, total: sum(usage.storedBytes) },
  };
}

/** The first instant of the month `now` is in, in UTC. */
export function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** GET /usage: a member or viewer sees its own owner's; an admin every owner's, or one with `owner`. */
export function createUsageService(deps: { usage: UsageRepository; now?: () => Date }) {
  const usage = guardStore(deps.usage);
  return {
    async get(viewer: Viewer, request: { owner?: string }) {
      const since = monthStart((deps.now ?? (() => new Date()))());
      const owner = visibleOwner(viewer) ?? request.owner;
      const [total, thisMonth] = await Promise.all([usage.byOwner(null, owner), usage.byOwner(since, owner)]);
      const owners = owner === undefined ? [...total.keys()].sort() : [owner];
      return {
        monthStart: since.toISOString(),
        owners: owners.map((name) => ({
          owner: name,
          thisMonth: periodView(thisMonth.get(name) ?? emptyUsage()),
          total: periodView(total.get(name) ?? emptyUsage()),
        })),
      };
    },
  };
}

export type UsageService = ReturnType<typeof createUsageService>;
