import type { SweepEventMessage } from '../sweeps/schemas.js';
import type { SweepView } from '../sweeps/sweep-view.js';

type SweepEvent = Omit<SweepEventMessage, 'seq'>;

/** What a stream has told its client so far. */
export interface SweepEventsSeen {
  statuses: Map<string, string>;
  bestJobId: string | null;
  bestObjective: number | null;
  finished: boolean;
}

export const nothingSeen = (): SweepEventsSeen => ({
  statuses: new Map(),
  bestJobId: null,
  bestObjective: null,
  finished: false,
});

const ended = ['completed', 'failed', 'cancelled'];

/**
 * The events between what a client has seen and the sweep's state now: runs that started, finished
 * or were stopped (with the reason), a new best, the sweep's end. Postgres is the record; a stream
 * reads it again whenever a job event (or a timer) says to and sends the differences, so nothing
 * depends on Redis keeping events.
 */
export function sweepEvents(view: SweepView, seen: SweepEventsSeen): SweepEvent[] {
  const events: SweepEvent[] = [];
  const sweepId = view.id;
  for (const entry of [...view.leaderboard].sort((a, b) => a.index - b.index)) {
    const before = seen.statuses.get(entry.jobId);
    if (before === entry.status) continue;
    seen.statuses.set(entry.jobId, entry.status);
    const run = { sweepId, jobId: entry.jobId, index: entry.index, status: entry.status, parameters: entry.parameters };
    // A run first seen already ended (it started and ended between two reads) still gets its start.
    if (before === undefined) events.push({ type: 'run-started', ...run });
    if (entry.status === 'cancelled') events.push({ type: 'run-stopped', ...run, reason: entry.stoppedReason });
    else if (ended.includes(entry.status)) events.push({ type: 'run-finished', ...run, objective: entry.objective });
  }
  const best = view.best;
  if (best && (best.jobId !== seen.bestJobId || best.objective !== seen.bestObjective)) {
    seen.bestJobId = best.jobId;
    seen.bestObjective = best.objective;
    events.push({
      type: 'new-best',
      sweepId,
      jobId: best.jobId,
      index: best.index,
      objective: best.objective,
      parameters: best.parameters,
    });
  }
  if (view.status !== 'running' && !seen.finished) {
    seen.finished = true;
    events.push({ type: 'sweep-finished', sweepId, status: view.status });
  }
  return events;
}
