import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api';
import { StatusBadge } from '../components/badges';
import { SweepCounts, SweepProgress } from '../components/sweep-counts';
import { dateTime } from '../format';
import { Link, navigate } from '../router';
import { objectiveText, type SweepList, type SweepSummary } from '../sweep-api';
import '../sweeps.css';

/** How often the list is read again while one of its sweeps runs. */
const refreshMs = 3000;

/** GET /sweeps with the page URL's `limit` and `cursor`, which the API takes once it pages the list. */
function listUrl(query: URLSearchParams): string {
  const api = new URLSearchParams();
  for (const key of ['limit', 'cursor']) {
    const value = query.get(key);
    if (value) api.set(key, value);
  }
  const text = api.toString();
  return text ? `/sweeps?${text}` : '/sweeps';
}

function pageUrl(query: URLSearchParams, cursor: string | null): string {
  const next = new URLSearchParams(query);
  if (cursor) next.set('cursor', cursor);
  else next.delete('cursor');
  const text = next.toString();
  return text ? `/runs/sweeps?${text}` : '/runs/sweeps';
}

function useSweepList(query: URLSearchParams) {
  const url = listUrl(query);
  const [list, setList] = useState<SweepList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const running = list?.sweeps.some((sweep) => sweep.status === 'running') ?? false;
  useEffect(() => {
    const controller = new AbortController();
    const read = () =>
      getJson<SweepList>(url, controller.signal).then(
        (body) => {
          setList(body);
          setError(null);
        },
        (failure: unknown) => {
          if (!controller.signal.aborted) setError(failure instanceof Error ? failure.message : String(failure));
        },
      );
    void read();
    const timer = running ? setInterval(() => void read(), refreshMs) : undefined;
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, [url, running]);
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

function SweepRow({ sweep }: { sweep: SweepSummary }) {
  return (
    <tr data-sweep={sweep.id} data-status={sweep.status}>
      <th scope="row" class="name">
        <Link href={`/runs/sweeps/${sweep.id}`}>{sweep.name}</Link>
        <span class="narrow-only">
          <StatusBadge status={sweep.status} />
        </span>
      </th>
      <td class="wide-only">
        <StatusBadge status={sweep.status} />
      </td>
      <td class="wide-only">
        <Objective sweep={sweep} />
      </td>
      <td class="num">
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
      </td>
      <td class="runs-cell">
        <SweepProgress sweep={sweep} />
        <SweepCounts sweep={sweep} />
      </td>
      <td class="wide-only">{sweep.method}</td>
      <td class="wide-only">{dateTime(sweep.createdAt)}</td>
    </tr>
  );
}

export function SweepsPage({ query }: { query: URLSearchParams }) {
  const { list, error } = useSweepList(query);
  const [previous, setPrevious] = useState<string[]>([]);
  const cursor = query.get('cursor');
  // Without `nextCursor` (an API that answers every sweep at once) there is one page and no pager.
  const paged = cursor !== null || typeof list?.nextCursor === 'string';

  return (
    <section>
      <div class="title-row">
        <h1>Sweeps</h1>
      </div>
      {error && <p class="error">Could not load the sweeps: {error}</p>}
      <div class="table-scroll">
        <table class="sweeps">
          <caption class="visually-hidden">Hyperparameter sweeps, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" class="wide-only">
                Status
              </th>
              <th scope="col" class="wide-only">
                Objective
              </th>
              <th scope="col" class="num">
                Best
              </th>
              <th scope="col">Runs</th>
              <th scope="col" class="wide-only">
                Method
              </th>
              <th scope="col" class="wide-only">
                Created
              </th>
            </tr>
          </thead>
          <tbody>
            {list?.sweeps.map((sweep) => (
              <SweepRow key={sweep.id} sweep={sweep} />
            ))}
          </tbody>
        </table>
      </div>
      {list && list.sweeps.length === 0 && (
        <p>
          No sweeps yet. Start one with <code>POST /sweeps</code> (see the <a href="/docs">API</a>) or{' '}
          <code>npm run demo:sweep</code>.
        </p>
      )}
      {paged && (
        <nav class="pager" aria-label="Pages of sweeps">
          <button
            type="button"
            disabled={!cursor}
            onClick={() => {
              setPrevious(previous.slice(0, -1));
              navigate(pageUrl(query, previous.at(-1) || null));
            }}
          >
            Previous page
          </button>
          <button
            type="button"
            disabled={!list?.nextCursor}
            onClick={() => {
              setPrevious([...previous, cursor ?? '']);
              navigate(pageUrl(query, list?.nextCursor ?? null));
            }}
          >
            Next page
          </button>
        </nav>
      )}
    </section>
  );
}
