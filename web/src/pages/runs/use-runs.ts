import type { Job, RunList, RunSummary } from '@trainer/client';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, failureText, unwrap } from '../../api';
import { followAllJobs, type Connection } from '../../live';
import { readRuns, runQuery } from './query';

export type Progress = Pick<Job, 'progress' | 'startedAt'>;

/** Within-epoch progress of the running runs shown, refreshed every 2 s (WS /events carries epochs only). */
export function useProgress(runs: RunSummary[]): Map<string, Progress> {
  const [progress, setProgress] = useState(new Map<string, Progress>());
  const running = runs
    .filter((run) => run.status === 'running')
    .map((run) => run.id)
    .join(',');
  useEffect(() => {
    if (!running) return;
    let stopped = false;
    const poll = async () => {
      const jobs = await Promise.all(
        running.split(',').map((id) => unwrap(api.GET('/jobs/{id}', { params: { path: { id } } })).catch(() => null)),
      );
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

/** GET /jobs for the page URL's query, and a way to read it again. */
export function useRunList(query: URLSearchParams) {
  const runs = runQuery(query);
  const name = new URLSearchParams(runs).toString();
  const [list, setList] = useState<RunList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    readRuns(runs).then(
      (body) => {
        setList(body);
        setError(null);
      },
      (failure: unknown) => setError(failureText(failure)),
    );
  }, [name]);
  useEffect(reload, [reload]);
  return { list, error, reload };
}

/** Reloads the page (debounced) when WS /events says a shown run, or a new one, changed. */
export function useLiveUpdates(list: RunList | null, onFirstPage: boolean, reload: () => void): Connection {
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
