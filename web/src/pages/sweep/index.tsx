import type { Sweep } from '@trainer/client';
import { useState } from 'preact/hooks';
import { api, failureText, unwrap } from '../../api';
import { ConnectionBadge, StatusBadge } from '../../components/badges';
import { Link } from '../../router';
import { usePermissions } from '../../session';
import { useLiveSweep } from '../../sweep-live';
import '../../sweeps.css';
import { ChartPanel, sweptParameters } from './chart-panel';
import { BestRun, Facts } from './facts';
import { Leaderboard } from './leaderboard';
import { Spread } from './spread';

/** How many of the best runs "Compare top runs" opens (the compare page takes 2 to 20). */
const compareTop = 5;

function useCancel(sweep: Sweep | null, setSweep: (sweep: Sweep) => void) {
  const [state, setState] = useState<{ busy: boolean; message: string | null }>({ busy: false, message: null });
  const cancel = async () => {
    if (!sweep || !window.confirm(`Cancel the sweep ${sweep.name} and its queued and running runs?`)) return;
    setState({ busy: true, message: null });
    try {
      setSweep(await unwrap(api.POST('/sweeps/{id}/cancel', { params: { path: { id: sweep.id } } })));
      setState({ busy: false, message: 'Sweep cancelled.' });
    } catch (failure) {
      setState({ busy: false, message: failureText(failure) });
    }
  };
  return { ...state, cancel };
}

function TitleRow({
  sweep,
  connection,
  cancel,
}: {
  sweep: Sweep;
  connection: ReturnType<typeof useLiveSweep>['connection'];
  cancel: ReturnType<typeof useCancel>;
}) {
  const { write } = usePermissions();
  const top = sweep.leaderboard.filter((entry) => entry.objective !== null).slice(0, compareTop);
  return (
    <div class="title-row">
      <h1>{sweep.name}</h1>
      <StatusBadge status={sweep.status} />
      <ConnectionBadge state={connection} />
      <div class="spacer" />
      {top.length >= 2 && (
        <Link class="button" href={`/runs/compare?ids=${top.map((entry) => entry.jobId).join(',')}`}>
          Compare top {top.length} runs
        </Link>
      )}
      {write && sweep.status === 'running' && (
        <button type="button" class="danger" onClick={() => void cancel.cancel()} disabled={cancel.busy}>
          {cancel.busy ? 'Cancelling…' : 'Cancel sweep'}
        </button>
      )}
    </div>
  );
}

function Missing({ error }: { error: { status: number; message: string } }) {
  return (
    <section>
      <h1>{error.status === 404 ? 'Sweep not found' : 'Could not load the sweep'}</h1>
      <p class="error">{error.message}</p>
      <p>
        <Link href="/runs/sweeps">See all sweeps</Link>.
      </p>
    </section>
  );
}

export function SweepPage({ id }: { id: string }) {
  const { sweep, error, connection, setSweep } = useLiveSweep(id);
  const [focused, setFocused] = useState<string | null>(null);
  const cancel = useCancel(sweep, setSweep);

  if (!sweep && error) return <Missing error={error} />;
  if (!sweep) return <p aria-busy="true">Loading…</p>;

  const parameters = sweptParameters(sweep).map(([path]) => path);
  return (
    <article class="sweep" data-status={sweep.status} data-sweep={sweep.id}>
      <p class="small">
        <Link href="/runs/sweeps">← Sweeps</Link>
      </p>
      <TitleRow sweep={sweep} connection={connection} cancel={cancel} />
      <p role="status" class="notice">
        {cancel.message ?? (error ? `Could not refresh: ${error.message}` : null)}
      </p>
      <div class="sweep-grid">
        <section aria-labelledby="facts-heading">
          <h2 id="facts-heading" class="visually-hidden">
            Summary
          </h2>
          <Facts sweep={sweep} />
        </section>
        <section aria-labelledby="best-heading">
          <h2 id="best-heading">Best run</h2>
          <BestRun sweep={sweep} />
        </section>
      </div>
      <ChartPanel sweep={sweep} focused={focused} onFocus={setFocused} />
      <h2>Leaderboard</h2>
      <Leaderboard sweep={sweep} parameters={parameters} focused={focused} onFocus={setFocused} />
      {sweep.leaderboard.length === 0 && <p class="muted">No run has started yet.</p>}
      <h2>Spread of the objective by parameter</h2>
      <Spread sweep={sweep} />
    </article>
  );
}
