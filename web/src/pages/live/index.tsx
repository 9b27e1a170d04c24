import type { JobStatus, RunSummary } from '@trainer/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, failureText, unwrap } from '../../api';
import { ConnectionBadge } from '../../components/badges';
import { LineChart } from '../../components/line-chart';
import { cancelRedraw, scheduleRedraw } from '../../components/redraw';
import { integer, runName } from '../../format';
import { followAllJobs } from '../../live';
import { useLiveCurve } from '../../loss-curve';
import { Link } from '../../router';
import { usePermissions } from '../../session';

// A card's chart is a few hundred pixels wide: past this, older points are thinned (lows and highs kept),
// so a redraw costs the same at step 1,000 and at step 1,000,000.
const cardPoints = 600;

function LiveCard({ run }: { run: RunSummary }) {
  const [status, setStatus] = useState<JobStatus>(run.status);
  // New steps re-render a card (text and chart at once) in a coming frame, a few cards per frame, so 20
  // cards whose steps arrive together do not all redraw, relayout and repaint in one frame.
  const live = useLiveCurve(run.id, run.status, 0.6, {
    onStatus: (next) => setStatus(next),
    maxPoints: cardPoints,
    schedule: scheduleRedraw,
    unschedule: cancelRedraw,
  });
  const { curve, version } = live;
  const data = useMemo(() => [curve.steps, curve.losses, curve.smoothed] as [number[], number[], number[]], [version]);
  return (
    <article class="live-card" data-run={run.id}>
      <div class="title-row">
        <h2>
          <Link href={`/runs/${run.id}`}>{runName(run)}</Link>
        </h2>
        <span class={`badge status-${status}`}>{status}</span>
        <ConnectionBadge state={live.connection} />
      </div>
      <LineChart
        title={`Training loss of ${runName(run)}, ${curve.steps.length} points up to step ${curve.lastStep}`}
        xLabel="step"
        yLabel="loss"
        legend={false}
        height={160}
        series={[
          { label: 'loss', stroke: 'rgba(31,119,180,0.3)', width: 1 },
          { label: 'smoothed', stroke: '#1f77b4', width: 2 },
        ]}
        data={data}
        version={version}
        drawOnRender
      />
      <p class="small muted counters">
        {run.architecture} · step {integer(curve.lastStep)} · last loss {curve.losses.at(-1)?.toFixed(4) ?? '–'}
      </p>
    </article>
  );
}

/** The running jobs (up to 20), read again whenever one starts. */
function useRunningJobs() {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    unwrap(api.GET('/jobs', { params: { query: { status: 'running', limit: '20' } } })).then(
      (list) => {
        setRuns(list.runs);
        setError(null);
      },
      (failure: unknown) => setError(failureText(failure)),
    );
  }, [version]);
  useEffect(() => {
    const stream = followAllJobs({
      onConnection: () => undefined,
      onEpoch: () => undefined,
      // A job started: show it. Finished ones stay until the next start, so their end can be seen.
      onStatus: (_id, status) => {
        if (status === 'running') setVersion((value) => value + 1);
      },
    });
    return () => stream.stop();
  }, []);
  return { runs, error };
}

/** The loss curves of every running job (up to 20), side by side, each extended live. */
export function LivePage() {
  const { write } = usePermissions();
  const { runs, error } = useRunningJobs();
  return (
    <section>
      <h1>Live</h1>
      {error && <p class="error">Could not load the running jobs: {error}</p>}
      {runs && runs.length === 0 && (
        <p>
          No job is running.{' '}
          {write && (
            <>
              <Link href="/runs/new">Start one</Link>.
            </>
          )}
        </p>
      )}
      <div class="live-grid">
        {runs?.map((run) => (
          <LiveCard key={run.id} run={run} />
        ))}
      </div>
    </section>
  );
}
