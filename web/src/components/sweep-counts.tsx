import type { SweepSummary } from '@trainer/client';

const ended = (sweep: SweepSummary) => sweep.counts.completed + sweep.counts.failed + sweep.counts.cancelled;

/** Runs ended out of the sweep's configurations. */
export function SweepProgress({ sweep }: { sweep: SweepSummary }) {
  return (
    <progress
      max={Math.max(1, sweep.runCount)}
      value={ended(sweep)}
      aria-label={`${ended(sweep)} of ${sweep.runCount} runs ended`}
    />
  );
}

/** "3 of 4 ended: 2 completed, 1 stopped · 1 running", leaving out the statuses no run has. */
export function SweepCounts({ sweep }: { sweep: SweepSummary }) {
  const { counts } = sweep;
  const endedParts = [
    counts.completed > 0 && `${counts.completed} completed`,
    counts.failed > 0 && `${counts.failed} failed`,
    counts.cancelled > 0 && `${counts.cancelled} cancelled`,
  ].filter(Boolean);
  const active = [
    counts.running > 0 && `${counts.running} running`,
    counts.queued > 0 && `${counts.queued} queued`,
    counts.pending > 0 && `${counts.pending} pending`,
  ].filter(Boolean);
  return (
    <span class="small block sweep-counts" data-ended={ended(sweep)} data-runs={sweep.runCount}>
      {ended(sweep)} of {sweep.runCount} ended{endedParts.length > 0 && `: ${endedParts.join(', ')}`}
      {active.length > 0 && ` · ${active.join(', ')}`}
    </span>
  );
}
