import { visibleOwner, type Viewer } from '../../domain/access.js';
import type { ExpiredRunsRepository } from '../../store/jobs/expired-runs.js';
import { guardStore } from '../http/store-guard.js';
import type { RetentionPreview } from './schemas.js';

/** GET /retention/preview: what the next purge would delete, read with the purge's own query. */
export function createRetentionService(deps: { runs: ExpiredRunsRepository }) {
  const runs = guardStore(deps.runs);
  return {
    async preview(viewer: Viewer, request: { owner?: string; limit?: number }): Promise<RetentionPreview> {
      const owner = visibleOwner(viewer) ?? request.owner;
      const limit = request.limit ?? 100;
      const [listed, count, heldBack] = await Promise.all([
        runs.removableRuns(limit, owner),
        runs.countRemovable(owner),
        runs.heldBackRuns(limit, owner),
      ]);
      return {
        count,
        runs: listed.map((run) => ({
          ...run,
          finishedAt: run.finishedAt.toISOString(),
          expiresAt: run.expiresAt.toISOString(),
        })),
        bytes: listed.reduce((sum, run) => sum + run.bytes, 0),
        heldBack: heldBack.map((run) => ({ ...run, expiresAt: run.expiresAt.toISOString() })),
      };
    },
  };
}

export type RetentionService = ReturnType<typeof createRetentionService>;
