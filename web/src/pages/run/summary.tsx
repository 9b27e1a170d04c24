import type { Job } from '@trainer/client';
import { finished } from '../../api';
import { StatusBadge } from '../../components/badges';
import { dateTime, duration, eta, integer, percent } from '../../format';
import { retentionLine } from './retention';

function Facts({ job }: { job: Job }) {
  const { progress } = job;
  const kept = retentionLine(job);
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd>
        <StatusBadge status={job.status} />
        {job.cancelRequested && !finished(job.status) && <span class="muted"> cancel requested</span>}
      </dd>
      <dt>Progress</dt>
      <dd>
        <progress max={1} value={progress.fraction} aria-label="Training progress" />
        <span class="small block">
          epoch {progress.epoch}/{job.spec.epochs}, step {integer(progress.step)}/{integer(progress.totalSteps)}
          {job.status === 'running' && ` · ${eta(job.startedAt, progress.fraction)}`}
        </span>
      </dd>
      <dt>Architecture</dt>
      <dd class="mono">{job.architecture}</dd>
      <dt>Parameters</dt>
      <dd>{integer(job.parameterCount)}</dd>
      <dt>Accuracy</dt>
      <dd>
        final {percent(job.finalTestAccuracy)}, best {percent(job.bestTestAccuracy)}
      </dd>
      <dt>Backend</dt>
      <dd>{job.backend ?? '–'}</dd>
      <dt>Attempts</dt>
      <dd>{job.attempts}</dd>
      <dt>Created</dt>
      <dd>{dateTime(job.createdAt)}</dd>
      <dt>Duration</dt>
      <dd>{duration(job.durationMs)}</dd>
      {kept && (
        <>
          <dt>Retention</dt>
          <dd class="retention">{kept}</dd>
        </>
      )}
      {job.tags.length > 0 && (
        <>
          <dt>Tags</dt>
          <dd>{job.tags.join(', ')}</dd>
        </>
      )}
    </dl>
  );
}

/** The job's facts, its error, and the cancel button. `onCancel`: undefined for a key that may not cancel (a viewer). */
export function Summary({ job, onCancel }: { job: Job; onCancel: (() => void) | undefined }) {
  return (
    <div class="summary">
      <Facts job={job} />
      {job.error && (
        <p class="error" role="alert">
          <strong>Error:</strong> {job.error}
        </p>
      )}
      {!finished(job.status) && onCancel && (
        <button type="button" class="danger" onClick={onCancel} disabled={job.cancelRequested}>
          {job.cancelRequested ? 'Cancelling…' : 'Cancel job'}
        </button>
      )}
    </div>
  );
}
