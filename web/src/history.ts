import { dashboardHistoryPoints } from '../../src/domain/history-points';

/** Points asked of GET /jobs/:id/history: enough for any screen, few enough to draw at once. */
export const historyPoints = dashboardHistoryPoints;

export const historyUrl = (jobId: string) => `/jobs/${jobId}/history?points=${historyPoints}`;
