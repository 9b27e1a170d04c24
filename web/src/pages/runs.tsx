import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  cancelJob,
  deleteJob,
  finished,
  getJson,
  jobStatuses,
  prefetchJson,
  type JobView,
  type RunList,
  type RunSummary,
} from '../api';
import { useCapabilities } from '../capabilities';
import { ConnectionBadge, StatusBadge } from '../components/badges';
import { dateTime, duration, eta, integer, percent, runName } from '../format';
import { followAllJobs, type Connection } from '../live';
import { Link, navigate } from '../router';
import { usePermissions } from '../session';

const sorts = [
  ['created', 'Created'],
  ['finalAccuracy', 'Final accuracy'],
  ['bestAccuracy', 'Best accuracy'],
  ['duration', 'Duration'],
] as const;

/** Runs picked for comparison; kept while moving between pages of the dashboard. */
const selected = new Set<string>();

/** The list query: the page URL's own parameters, passed on to GET /jobs. */
function listUrl(query: URLSearchParams): string {
  const api = new URLSearchParams();
  for (const key of ['status', 'dataset', 'name', 'tag', 'owner', 'sort', 'order', 'limit', 'cursor']) {
    const value = query.get(key);
    if (value) api.set(key, value);
  }
  return `/jobs?${api.toString()}`;
}

function withQuery(query: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(query);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === '') next.delete(key);
    else next.set(key, value);
  }
  const text = next.toString();
  return text ? `/runs?${text}` : '/runs';
}

type Progress = Pick<JobView, 'progress' | 'startedAt'>;

/** Within-epoch progress of the running runs shown, refreshed every 2 s (WS /events carries epochs only). */
function useProgress(runs: RunSummary[]): Map<string, Progress> {
  const [progress, setProgress] = useState(new Map<string, Progress>());
  const running = runs
    .filter((run) => run.status === 'running')
    .map((run) => run.id)
    .join(',');
  useEffect(() => {
    if (!running) return;
    let stopped = false;
    const poll = async () => {
      const jobs = await Promise.all(running.split(',').map((id) => getJson<JobView>(`/jobs/${id}`).catch(() => null)));
      if (stopped) return;
      setProgress(new Map(jobs.flatMap((job) => (job ? [[job.id, job] as const] : []))));
    };
    void poll();
    const timer = setInterval(() => void poll(), 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [running]);
  return progress;
}

function ProgressCell({ run, progress }: { run: RunSummary; progress: Progress | undefined }) {
  if (run.status === 'queued') return <span class="muted">queued</span>;
  const fraction =
    run.status === 'running'
      ? (progress?.progress.fraction ?? run.epochsCompleted / run.hyperparameters.epochs)
      : run.epochsCompleted / run.hyperparameters.epochs;
  const label = `${Math.round(fraction * 100)}%`;
  const left = run.status === 'running' ? eta(progress?.startedAt ?? null, fraction) : '';
  return (
    <div class="progress-cell">
      <progress max={1} value={fraction} aria-label={`${runName(run)} progress`}>
        {label}
      </progress>
      <span class="small">
        {label}
        {left && ` · ${left}`}
      </span>
    </div>
  );
}

function Filters({ query }: { query: URLSearchParams }) {
  const { admin, auth } = usePermissions();
  const statuses = new Set((query.get('status') ?? '').split(',').filter(Boolean));
  const toggleStatus = (status: string) => {
    if (statuses.has(status)) statuses.delete(status);
    else statuses.add(status);
    navigate(withQuery(query, { status: [...statuses].join(','), cursor: null }), { replace: true });
  };
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const field = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value.trim() : '';
    };
    navigate(
      withQuery(query, {
        name: field('name'),
        tag: field('tag'),
        dataset: field('dataset'),
        owner: field('owner'),
        sort: field('sort'),
        order: field('order'),
        limit: field('limit'),
        cursor: null,
      }),
      { replace: true },
    );
  };
  return (
    <form class="filters" onSubmit={onSubmit} aria-label="Filter and sort runs">
      <fieldset class="statuses">
        <legend>Status</legend>
        {jobStatuses.map((status) => (
          <label key={status}>
            <input type="checkbox" checked={statuses.has(status)} onChange={() => toggleStatus(status)} /> {status}
          </label>
        ))}
      </fieldset>
      <label>
        Name contains
        <input name="name" defaultValue={query.get('name') ?? ''} />
      </label>
      <label>
        Tag
        <input name="tag" defaultValue={query.get('tag') ?? ''} />
      </label>
      <label>
        Dataset
        <input name="dataset" defaultValue={query.get('dataset') ?? ''} />
      </label>
      {/* Admins see every owner's runs; other keys only their own owner's. */}
      {admin && auth === 'required' && (
        <label>
          Owner
          <input name="owner" defaultValue={query.get('owner') ?? ''} />
        </label>
      )}
      <label>
        Sort by
        <select name="sort" defaultValue={query.get('sort') ?? 'created'}>
          {sorts.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Order
        <select name="order" defaultValue={query.get('order') ?? 'desc'}>
          <option value="desc">Descending</option>
          <option value="asc">Ascending</option>
        </select>
      </label>
      <label>
        Per page
        <select name="limit" defaultValue={query.get('limit') ?? '20'}>
          {['20', '50', '100'].map((value) => (
            <option key={value}>{value}</option>
          ))}
        </select>
      </label>
      <button type="submit">Apply</button>
    </form>
  );
}

function RunRow(props: {
  run: RunSummary;
  progress: Progress | undefined;
  checked: boolean;
  onToggle: () => void;
  /** Whether this key may cancel and delete (a member: only its own runs, which are all it sees). */
  mayWrite: boolean;
  canDelete: boolean;
  onAction: (action: 'cancel' | 'delete') => void;
}) {
  const { run } = props;
  return (
    <tr data-run={run.id} data-status={run.status}>
      <td>
        <input
          type="checkbox"
          checked={props.checked}
          onChange={props.onToggle}
          aria-label={`Select ${runName(run)} to compare`}
        />
      </td>
      <td class="name">
        <Link href={`/runs/${run.id}`}>{runName(run)}</Link>
      </td>
      <td>
        <StatusBadge status={run.status} />
      </td>
      <td class="wide-only">
        <ProgressCell run={run} progress={props.progress} />
      </td>
      <td class="mono">{run.architecture}</td>
      <td class="num wide-only">{integer(run.parameterCount)}</td>
      <td class="num">{percent(run.finalTestAccuracy)}</td>
      <td class="num wide-only">{percent(run.bestTestAccuracy)}</td>
      <td class="num wide-only">{duration(run.durationMs)}</td>
      <td class="wide-only">
        {run.tags.map((tag) => (
          <span class="tag" key={tag}>
            {tag}
          </span>
        ))}
      </td>
      <td class="wide-only small">{dateTime(run.createdAt)}</td>
      <td class="actions">
        {!finished(run.status) && props.mayWrite && (
          <button type="button" class="small-button" onClick={() => props.onAction('cancel')}>
            Cancel<span class="visually-hidden"> {runName(run)}</span>
          </button>
        )}
        {finished(run.status) && props.mayWrite && props.canDelete && (
          <button type="button" class="small-button danger" onClick={() => props.onAction('delete')}>
            Delete<span class="visually-hidden"> {runName(run)}</span>
          </button>
        )}
      </td>
    </tr>
  );
}

/** Asks for the first page while the page is still starting, so the list shows sooner. */
export function prefetchRuns(query: URLSearchParams): void {
  prefetchJson(listUrl(query));
}

function useRunList(query: URLSearchParams) {
  const url = listUrl(query);
  const [list, setList] = useState<RunList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    getJson<RunList>(url).then(
      (body) => {
        setList(body);
        setError(null);
      },
      (failure: unknown) => setError(failure instanceof Error ? failure.message : String(failure)),
    );
  }, [url]);
  useEffect(reload, [reload]);
  return { list, error, reload };
}

/** Reloads the page (debounced) when WS /events says a shown run, or a new one, changed. */
function useLiveUpdates(list: RunList | null, onFirstPage: boolean, reload: () => void): Connection {
  const [connection, setConnection] = useState<Connection>('connecting');
  const shown = useRef(new Set<string>());
  shown.current = new Set(list?.runs.map((run) => run.id));
  const timer = useRef<ReturnType<typeof setTimeout>>();
  useEffect(() => {
    const later = () => {
      clearTimeout(timer.current);
      timer.current = setTimeout(reload, 300);
    };
    const stream = followAllJobs({
      onConnection: setConnection,
      onEpoch: (jobId) => {
        if (shown.current.has(jobId)) later();
      },
      onStatus: (jobId) => {
        if (shown.current.has(jobId) || onFirstPage) later();
      },
    });
    return () => {
      clearTimeout(timer.current);
      stream.stop();
    };
  }, [reload, onFirstPage]);
  return connection;
}

export function RunsPage({ query }: { query: URLSearchParams }) {
  const { list, error, reload } = useRunList(query);
  const [, setSelectionVersion] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);
  const [previous, setPrevious] = useState<string[]>([]);
  const capabilities = useCapabilities();
  const { write } = usePermissions();
  const progress = useProgress(list?.runs ?? []);
  const connection = useLiveUpdates(list, !query.get('cursor'), reload);

  const toggle = (id: string) => {
    if (selected.has(id)) selected.delete(id);
    else if (selected.size < 20) selected.add(id);
    setSelectionVersion((version) => version + 1);
  };
  const act = async (run: RunSummary, action: 'cancel' | 'delete') => {
    if (action === 'delete' && !window.confirm(`Delete ${runName(run)} with its history and models?`)) return;
    try {
      if (action === 'cancel') await cancelJob(run.id);
      else await deleteJob(run.id);
      selected.delete(run.id);
      setNotice(`${action === 'cancel' ? 'Cancelled' : 'Deleted'} ${runName(run)}.`);
    } catch (failure) {
      setNotice(failure instanceof ApiError ? failure.message : String(failure));
    }
    reload();
  };
  const cursor = query.get('cursor');
  const nextPage = () => {
    setPrevious([...previous, cursor ?? '']);
    navigate(withQuery(query, { cursor: list?.nextCursor ?? null }));
  };
  const previousPage = () => {
    const back = previous.at(-1) ?? '';
    setPrevious(previous.slice(0, -1));
    navigate(withQuery(query, { cursor: back || null }));
  };

  return (
    <section>
      <div class="title-row">
        <h1>Runs</h1>
        <ConnectionBadge state={connection} />
        <div class="spacer" />
        <button
          type="button"
          disabled={selected.size < 2}
          onClick={() => navigate(`/runs/compare?ids=${[...selected].join(',')}`)}
        >
          Compare {selected.size} selected
        </button>
        {write && (
          <Link class="button" href="/runs/new">
            New job
          </Link>
        )}
      </div>
      <Filters query={query} />
      <p role="status" class="notice">
        {notice}
      </p>
      {error && <p class="error">Could not load the runs: {error}</p>}
      <div class="table-scroll">
        <table class="runs">
          <caption class="visually-hidden">Runs, {query.get('sort') ?? 'created'} order</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Select</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col" class="wide-only">
                Progress
              </th>
              <th scope="col">Architecture</th>
              <th scope="col" class="num wide-only">
                Parameters
              </th>
              <th scope="col" class="num">
                Final acc.
              </th>
              <th scope="col" class="num wide-only">
                Best acc.
              </th>
              <th scope="col" class="num wide-only">
                Duration
              </th>
              <th scope="col" class="wide-only">
                Tags
              </th>
              <th scope="col" class="wide-only">
                Created
              </th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list?.runs.map((run) => (
              <RunRow
                key={run.id}
                run={run}
                progress={progress.get(run.id)}
                checked={selected.has(run.id)}
                onToggle={() => toggle(run.id)}
                mayWrite={write}
                canDelete={capabilities.deleteJob}
                onAction={(action) => void act(run, action)}
              />
            ))}
          </tbody>
        </table>
      </div>
      {list && list.runs.length === 0 && (
        <p>
          No runs match.{' '}
          {write && (
            <>
              <Link href="/runs/new">Submit one</Link>.
            </>
          )}
        </p>
      )}
      <nav class="pager" aria-label="Pages of runs">
        <button type="button" disabled={!cursor} onClick={previousPage}>
          Previous page
        </button>
        <button type="button" disabled={!list?.nextCursor} onClick={nextPage}>
          Next page
        </button>
      </nav>
    </section>
  );
}
