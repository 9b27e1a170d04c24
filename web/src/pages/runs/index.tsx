import type { RunSummary } from '@trainer/client';
import { useState } from 'preact/hooks';
import { api, unwrap } from '../../api';
import { useCapabilities } from '../../capabilities';
import { ConnectionBadge } from '../../components/badges';
import { Pager } from '../../components/pager';
import { runName } from '../../format';
import { Link, navigate } from '../../router';
import type { Connection } from '../../live';
import { usePermissions } from '../../session';
import { Filters } from './filters';
import { withQuery } from './query';
import { RunsTable } from './runs-table';
import { useLiveUpdates, useProgress, useRunList } from './use-runs';

export { prefetchRuns } from './query';

/** Runs picked for comparison; kept while moving between pages of the dashboard. */
const selected = new Set<string>();

/** The selection, with a re-render on each change. */
function useSelection() {
  const [, setVersion] = useState(0);
  return {
    has: (id: string) => selected.has(id),
    toggle: (id: string) => {
      if (selected.has(id)) selected.delete(id);
      else if (selected.size < 20) selected.add(id);
      setVersion((version) => version + 1);
    },
  };
}

/** Cancels or deletes a run (after asking, for a delete), saying how it went. */
function useRunActions(reload: () => void) {
  const [notice, setNotice] = useState<string | null>(null);
  const act = async (run: RunSummary, action: 'cancel' | 'delete') => {
    if (action === 'delete' && !window.confirm(`Delete ${runName(run)} with its history and models?`)) return;
    const path = { params: { path: { id: run.id } } };
    try {
      if (action === 'cancel') await unwrap(api.POST('/jobs/{id}/cancel', path));
      else await unwrap(api.DELETE('/jobs/{id}', path));
      selected.delete(run.id);
      setNotice(`${action === 'cancel' ? 'Cancelled' : 'Deleted'} ${runName(run)}.`);
    } catch (failure) {
      setNotice(failure instanceof Error ? failure.message : String(failure));
    }
    reload();
  };
  return { notice, act };
}

function TitleRow({ connection }: { connection: Connection }) {
  const { write } = usePermissions();
  return (
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
  );
}

export function RunsPage({ query }: { query: URLSearchParams }) {
  const { list, error, reload } = useRunList(query);
  const selection = useSelection();
  const { notice, act } = useRunActions(reload);
  const capabilities = useCapabilities();
  const { write } = usePermissions();
  const progress = useProgress(list?.runs ?? []);
  const connection = useLiveUpdates(list, !query.get('cursor'), reload);

  return (
    <section>
      <TitleRow connection={connection} />
      <Filters query={query} />
      <p role="status" class="notice">
        {notice}
      </p>
      {error && <p class="error">Could not load the runs: {error}</p>}
      <RunsTable
        runs={list?.runs ?? []}
        caption={`Runs, ${query.get('sort') ?? 'created'} order`}
        progress={progress}
        isSelected={selection.has}
        onToggle={selection.toggle}
        mayWrite={write}
        canDelete={capabilities.deleteJob}
        onAction={(run, action) => void act(run, action)}
      />
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
      <Pager
        label="Pages of runs"
        cursor={query.get('cursor')}
        nextCursor={list?.nextCursor}
        pageUrl={(cursor) => withQuery(query, { cursor })}
      />
    </section>
  );
}
