import type { Job } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, unwrap } from './api';

// A forked run's curve continues its ancestors': the run page and /runs/compare draw the ancestors'
// steps up to the fork point first, greyed, then the run's own.

/** The steps of a forked run's ancestors up to its fork point. */
export interface Ancestry {
  steps: number[];
  losses: number[];
}

export const noAncestry: Ancestry = { steps: [], losses: [] };

/**
 * GET /jobs/:id/history?lineage=true downsampled to about `points`, without the run's own steps:
 * empty for a run that is no fork or whose parent was deleted (its lineage ends at the fork point).
 */
export async function readAncestry(jobId: string, points: number, signal?: AbortSignal): Promise<Ancestry> {
  const query = { lineage: 'true' as const, points: String(points) };
  const history = await unwrap(api.GET('/jobs/{id}/history', { params: { path: { id: jobId }, query }, signal }));
  const segments = history.lineage ?? [];
  // The segment before the run's own ends at its fork point: every step up to it is an ancestor's.
  const forkStep = segments.length > 1 ? (segments.at(-2)?.lastStep ?? 0) : 0;
  const before = history.steps.filter((step) => step.step <= forkStep);
  return { steps: before.map((step) => step.step), losses: before.map((step) => step.loss) };
}

/** The ancestry of the run page's job, asked only when the job names a parent that still exists. */
export function useAncestry(job: Job, points = 1000): Ancestry {
  const [ancestry, setAncestry] = useState<Ancestry>(noAncestry);
  const parent = job.parent && !job.parent.deleted ? job.parent : null;
  useEffect(() => {
    if (!parent) return;
    const controller = new AbortController();
    readAncestry(job.id, points, controller.signal).then(setAncestry, () => {
      if (!controller.signal.aborted) setAncestry(noAncestry);
    });
    return () => controller.abort();
  }, [job.id, parent?.jobId, parent?.step]);
  return ancestry;
}

/**
 * A chart's columns with the ancestors' curve before a run's own: x (`ancestorX`, then `x`), each of
 * `series` padded with nulls where the ancestors are drawn, then the ancestors' values, which also
 * take the first value of `series[0]` so that the grey curve runs on into the run's instead of
 * stopping a step short of it. Without ancestors: x and `series` themselves, not copied (the live
 * curve grows them in place between redraws).
 */
export function withAncestry(
  ancestorX: readonly number[],
  ancestorValues: readonly number[],
  x: readonly number[],
  series: readonly (readonly (number | null)[])[],
): (readonly (number | null)[])[] {
  if (ancestorX.length === 0) return [x, ...series];
  const gap = (length: number) => new Array<null>(length).fill(null);
  const joining = x.length > 0 ? [series[0]?.[0] ?? null] : [];
  return [
    [...ancestorX, ...x],
    ...series.map((values) => [...gap(ancestorX.length), ...values]),
    [...ancestorValues, ...joining, ...gap(Math.max(0, x.length - 1))],
  ];
}
