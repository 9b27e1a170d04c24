import type { Sweep } from '@trainer/client';
import { Fragment } from 'preact';
import { StatusBadge } from '../../components/badges';
import { SweepCounts, SweepProgress } from '../../components/sweep-counts';
import { dateTime, integer, shortId } from '../../format';
import { Link } from '../../router';
import { objectiveLabel, objectiveText, parameterText } from '../../sweep-text';

/** The best run so far: its objective, where it got it, and its parameters. */
export function BestRun({ sweep }: { sweep: Sweep }) {
  const best = sweep.best;
  if (!best) return <p class="muted">No run has reached the objective yet.</p>;
  return (
    <div class="best-run" data-best={best.jobId}>
      <p>
        <strong>{objectiveText(sweep.objective, best.objective)}</strong> {sweep.objective.metric} at epoch {best.epoch}{' '}
        by <Link href={`/runs/${best.jobId}`}>run {shortId(best.jobId)}</Link> (configuration {best.index + 1})
      </p>
      <dl class="facts compact">
        {Object.entries(best.parameters).map(([path, value]) => (
          <Fragment key={path}>
            <dt class="mono">{path}</dt>
            <dd>{parameterText(value)}</dd>
          </Fragment>
        ))}
      </dl>
    </div>
  );
}

/** Status, objective, runs, method, epochs trained and saved, times. */
export function Facts({ sweep }: { sweep: Sweep }) {
  const saved = sweep.epochs.planned > 0 ? 1 - sweep.epochs.trained / sweep.epochs.planned : 0;
  const { maxParallel } = sweep.spec;
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd>
        <StatusBadge status={sweep.status} />
      </dd>
      <dt>Objective</dt>
      <dd>{objectiveLabel(sweep.objective)}</dd>
      <dt>Runs</dt>
      <dd>
        <SweepProgress sweep={sweep} />
        <SweepCounts sweep={sweep} />
      </dd>
      <dt>Method</dt>
      <dd>
        {sweep.method}
        {typeof maxParallel === 'number' && `, ${maxParallel} at a time`}
      </dd>
      <dt>Epochs</dt>
      <dd>
        {integer(sweep.epochs.trained)} of {integer(sweep.epochs.planned)} planned
        {saved > 0 && sweep.status !== 'running' && ` (${Math.round(saved * 100)}% saved)`}
      </dd>
      <dt>Created</dt>
      <dd>{dateTime(sweep.createdAt)}</dd>
      {sweep.finishedAt && (
        <>
          <dt>Finished</dt>
          <dd>{dateTime(sweep.finishedAt)}</dd>
        </>
      )}
    </dl>
  );
}
