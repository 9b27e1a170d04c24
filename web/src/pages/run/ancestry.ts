import type { Job } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, unwrap } from '../../api';

/** The steps of a forked run's ancestors up to its fork point, drawn before its own curve. */
export interface Ancestry {
  steps: number[];
  losses: number[];
}

const none: Ancestry = { steps: [], losses: [] };

/**
 * GET /jobs/:id/history?lineage=true, downsampled, without the run's own steps: empty for a run
 * that is no fork or whose parent was deleted (its lineage ends at the fork point).
 */
export function useAncestry(job: Job, points = 1000): Ancestry {
  const [ancestry, setAncestry] = useState<Ancestry>(none);
  const parent = job.parent && !job.parent.deleted ? job.parent : null;
  useEffect(() => {
    if (!parent) return;
    let current = true;
    const query = { lineage: 'true' as const, points: String(points) };
    unwrap(api.GET('/jobs/{id}/history', { params: { path: { id: job.id }, query } })).then(
      (history) => {
        const before = history.steps.filter((step) => step.step <= parent.step);
        if (current) setAncestry({ steps: before.map((step) => step.step), losses: before.map((step) => step.loss) });
      },
      () => current && setAncestry(none),
    );
    return () => {
      current = false;
    };
  }, [job.id, parent?.jobId, parent?.step]);
  return ancestry;
}
