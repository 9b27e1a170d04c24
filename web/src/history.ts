import { dashboardHistoryPoints } from '../../src/domain/history-points';
import { api, early, prefetch, unwrap } from './api';

/** Points asked of GET /jobs/:id/history: enough for any screen, few enough to draw at once. */
export const historyPoints = dashboardHistoryPoints;

const name = (jobId: string) => `/jobs/${jobId}/history?points=${historyPoints}`;
const read = (jobId: string) =>
  unwrap(api.GET('/jobs/{id}/history', { params: { path: { id: jobId }, query: { points: String(historyPoints) } } }));

/** A job's loss history, downsampled to `historyPoints`; the prefetched answer when there is one. */
export const readHistory = (jobId: string) => early(name(jobId), () => read(jobId));

/** Asks for a job's history while the page's code is still loading. */
export const prefetchHistory = (jobId: string) => prefetch(name(jobId), () => read(jobId));
