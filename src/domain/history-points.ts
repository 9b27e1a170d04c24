/**
 * Points the dashboard asks of GET /jobs/:id/history: enough for any screen, few enough to draw at
 * once. The API keeps finished jobs' histories downsampled to it ready before anyone asks, in memory
 * and in Postgres (a fresh API process reads one row).
 */
export const dashboardHistoryPoints = 2000;
