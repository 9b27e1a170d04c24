import { toEpochMetrics } from '../../store/jobs/epoch-metrics.js';
import { leaderboard, parameterSpread, type LeaderboardEntry } from '../../domain/sweeps/summary.js';
import type { SweepConfig } from '../../domain/sweeps/sweep-spec.js';
import type { JobWithEpochs } from '../../store/jobs-repository.js';
import type { Sweep } from '../../store/sweeps/sweeps-repository.js';
import type { SweepSummary, SweepView } from './schemas.js';

export type { SweepSummary, SweepView };

/** A sweep's runs ranked by the objective. */
export function sweepLeaderboard(sweep: Sweep, configs: readonly SweepConfig[], runs: readonly JobWithEpochs[]) {
  return leaderboard(
    sweep.spec.objective,
    configs,
    runs.map((run) => ({
      id: run.id,
      index: run.sweepIndex ?? 0,
      status: run.status,
      epochs: run.epochs.map(toEpochMetrics),
      cancelReason: run.cancelReason,
    })),
  ) as (LeaderboardEntry & { status: JobWithEpochs['status'] })[];
}

/** One line of GET /sweeps: status, counts by run status, and the best run so far. */
export function sweepSummary(
  sweep: Sweep,
  configs: readonly SweepConfig[],
  runs: readonly JobWithEpochs[],
): SweepSummary {
  const counts = {
    pending: configs.length - runs.length,
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
  };
  for (const run of runs) counts[run.status] += 1;
  const board = sweepLeaderboard(sweep, configs, runs);
  const best = board[0]?.objective !== null && board[0] ? board[0] : null;
  return {
    id: sweep.id,
    name: sweep.name,
    owner: sweep.owner,
    status: sweep.status,
    method: sweep.spec.method,
    objective: sweep.spec.objective,
    runCount: sweep.runCount,
    counts,
    best,
    createdAt: sweep.createdAt.toISOString(),
    finishedAt: sweep.finishedAt?.toISOString() ?? null,
    links: {
      self: `/sweeps/${sweep.id}`,
      events: `/sweeps/${sweep.id}/events`,
      compare: `/compare?sweep=${sweep.id}`,
      cancel: `/sweeps/${sweep.id}/cancel`,
    },
  };
}

/** GET /sweeps/:id: the summary plus the leaderboard, each parameter's spread and the epochs early termination saved. */
export function sweepView(sweep: Sweep, configs: readonly SweepConfig[], runs: readonly JobWithEpochs[]): SweepView {
  const board = sweepLeaderboard(sweep, configs, runs);
  return {
    ...sweepSummary(sweep, configs, runs),
    spec: sweep.spec,
    leaderboard: board,
    parameterSpread: parameterSpread(Object.keys(sweep.spec.parameters), board),
    epochs: {
      trained: runs.reduce((sum, run) => sum + run.epochs.length, 0),
      planned: configs.reduce((sum, config) => sum + config.spec.epochs, 0),
    },
  };
}
