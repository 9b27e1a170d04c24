import type { SweepList, SweepSummary } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, failureText, unwrap } from '../../api';
import { StatusBadge } from '../../components/badges';
import { SweepCounts, SweepProgress } from '../../components/sweep-counts';
import { Table, type Column } from '../../components/table';
import { dateTime } from '../../format';
import { Pager } from '../../components/pager';
import { Link } from '../../router';
import { objectiveText } from '../../sweep-text';
import '../../sweeps.css';

/** How often the list is read again while one of its sweeps runs. */
const refreshMs = 3000;

function pageUrl(query: URLSearchParams, cursor: string | null): string {
  const next = new URLSearchParams(query);
  if (cursor) next.set('cursor', cursor);
  else next.delete('cursor');
  const text = next.toString();
  return text ? `/runs/sweeps?${text}` : '/runs/sweeps';
}

/** GET /sweeps with the page URL's `limit` and `cursor`, read again every few seconds while one runs. */
function useSweepList(query: URLSearchParams) {
  const limit = query.get('limit') || undefined;
  const cursor = query.get('cursor') || undefined;
  const [list, setList] = useState<SweepList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const running = list?.sweeps.some((sweep) => sweep.status === 'running') ?? false;
  useEffect(() => {
    const controller = new AbortController();
    const read = () =>
      unwrap(api.GET('/sweeps', { params: { query: { limit, cursor } }, signal: controller.signal })).then(
        (body) => {
          setList(body);
          setError(null);
        },
        (failure: unknown) => {
          if (!controller.signal.aborted) setError(failureText(failure));
        },
      );
    void read();
    const timer = running ? setInterval(() => void read(), refreshMs) : undefined;
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, [limit, cursor, running]);
  return { list, error };
}

function Objective({ sweep }: { sweep: SweepSummary }) {
  return (
    <>
      <span class="mono">{sweep.objective.metric}</span>{' '}
      <span class="muted small">{sweep.objective.goal === 'maximize' ? '↑ max' : '↓ min'}</span>
    </>
  );
}

function Best({ sweep }: { sweep: SweepSummary }) {
  return (
    <>
      <span class="best">
        {sweep.best ? (
          <Link href={`/runs/${sweep.best.jobId}`}>{objectiveText(sweep.objective, sweep.best.objective)}</Link>
        ) : (
          '–'
        )}
      </span>
      <span class="narrow-only small objective">
        <Objective sweep={sweep} />
      </span>
    </>
  );
}

const columns: Column<SweepSummary>[] = [
  {
    key: 'name',
    header: 'Name',
    rowHeader: true,
    cellClass: 'name',
    cell: (sweep) => (
      <>
        <Link href={`/runs/sweeps/${sweep.id}`}>{sweep.name}</Link>
        <span class="narrow-only">
          <StatusBadge status={sweep.status} />
        </span>
      </>
    ),
  },
  { key: 'status', header: 'Status', headerClass: 'wide-only', cell: (sweep) => <StatusBadge status={sweep.status} /> },
  { key: 'objective', header: 'Objective', headerClass: 'wide-only', cell: (sweep) => <Objective sweep={sweep} /> },
  { key: 'best', header: 'Best', headerClass: 'num', cell: (sweep) => <Best sweep={sweep} /> },
  {
    key: 'runs',
    header: 'Runs',
    cellClass: 'runs-cell',
    cell: (sweep) => (
      <>
        <SweepProgress sweep={sweep} />
        <SweepCounts sweep={sweep} />
      </>
    ),
  },
  { key: 'method', header: 'Method', headerClass: 'wide-only', cell: (sweep) => sweep.method },
  { key: 'created', header: 'Created', headerClass: 'wide-only', cell: (sweep) => dateTime(sweep.createdAt) },
];

export function SweepsPage({ query }: { query: URLSearchParams }) {
  const { list, error } = useSweepList(query);
  // Without `nextCursor` (an API that answers every sweep at once) there is one page and no pager.
  const paged = query.get('cursor') !== null || typeof list?.nextCursor === 'string';
  return (
    <section>
      <div class="title-row">
        <h1>Sweeps</h1>
      </div>
      {error && <p class="error">Could not load the sweeps: {error}</p>}
      <Table
        class="sweeps"
        caption="Hyperparameter sweeps, newest first"
        captionClass="visually-hidden"
        columns={columns}
        rows={list?.sweeps ?? []}
        rowKey={(sweep) => sweep.id}
        rowProps={(sweep) => ({ 'data-sweep': sweep.id, 'data-status': sweep.status })}
      />
      {list && list.sweeps.length === 0 && (
        <p>
          No sweeps yet. Start one with <code>POST /sweeps</code> (see the <a href="/docs">API</a>) or{' '}
          <code>npm run demo:sweep</code>.
        </p>
      )}
      {paged && (
        <Pager
          label="Pages of sweeps"
          cursor={query.get('cursor')}
          nextCursor={list?.nextCursor}
          pageUrl={(cursor) => pageUrl(query, cursor)}
        />
      )}
    </section>
  );
}
