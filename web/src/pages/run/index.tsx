import type { Job } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { useAncestry } from '../../ancestry';
import { api, failureText, finished, TrainerApiError, unwrap } from '../../api';
import { StatusBadge } from '../../components/badges';
import { EvaluationPanel } from '../../components/evaluation';
import { runName } from '../../format';
import { useLiveCurve } from '../../loss-curve';
import { Link } from '../../router';
import { usePermissions } from '../../session';
import { EpochPanel } from './epoch-panel';
import { ForkPanel } from './fork-panel';
import { LossPanel } from './loss-panel';
import { ModelPanel } from './model-panel';
import { NotesPanel } from './notes-panel';
import { readJob } from './reads';
import { Summary } from './summary';

export { prefetchRun } from './reads';

function useJob(id: string) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);
  const reload = () =>
    readJob(id).then(setJob, (failure: unknown) =>
      setError({ status: failure instanceof TrainerApiError ? failure.status : 0, message: failureText(failure) }),
    );
  useEffect(() => void reload(), [id]);
  // Progress between epochs: the job row, every 2 s while it trains.
  useEffect(() => {
    if (!job || finished(job.status)) return;
    const timer = setInterval(() => void reload(), 2000);
    return () => clearInterval(timer);
  }, [job?.status]);
  return { job, setJob, error, reload };
}

/** The job kept current: its row, its live curve, and epochs added as they arrive. */
function useLiveJob(id: string, smoothing: number) {
  const { job, setJob, error, reload } = useJob(id);
  const live = useLiveCurve(id, job?.status, smoothing, {
    onEpoch: (metrics) => {
      setJob((old) =>
        old && !old.metrics.epochs.some((epoch) => epoch.epoch === metrics.epoch)
          ? { ...old, metrics: { epochs: [...old.metrics.epochs, metrics] } }
          : old,
      );
      void reload();
    },
    onStatus: () => void reload(),
  });
  return { job, setJob, error, reload, live };
}

/** The run's loss panel, with a fork's ancestors' curve before its own. */
function RunLoss(props: { job: Job } & Omit<Parameters<typeof LossPanel>[0], 'ancestry'>) {
  const { job, ...panel } = props;
  const ancestry = useAncestry(job);
  return <LossPanel {...panel} ancestry={ancestry} />;
}

function Missing({ id, error }: { id: string; error: { status: number; message: string } }) {
  return (
    <section>
      <h1>Run {id.slice(0, 8)}</h1>
      <p class="error">{error.status === 404 ? 'No run has this id.' : `Could not load the run: ${error.message}`}</p>
      <Link href="/runs">All runs</Link>
    </section>
  );
}

export function RunPage({ id }: { id: string }) {
  const [smoothing, setSmoothing] = useState(0.6);
  const { job, setJob, error, reload, live } = useLiveJob(id, smoothing);
  const { write } = usePermissions();
  const [notice, setNotice] = useState<string | null>(null);

  if (error) return <Missing id={id} error={error} />;
  if (!job) return <p aria-busy="true">Loading…</p>;

  const cancel = async () => {
    try {
      setJob(await unwrap(api.POST('/jobs/{id}/cancel', { params: { path: { id: job.id } } })));
      setNotice('Cancel requested: the worker stops the job between batches.');
    } catch (failure) {
      setNotice(failureText(failure));
    }
    void reload();
  };

  return (
    <article class="run" data-status={job.status}>
      <div class="title-row">
        <h1>{runName(job)}</h1>
        <StatusBadge status={job.status} />
        <div class="spacer" />
        {write && (
          <Link class="button" href={`/runs/new?from=${job.id}`}>
            Run again…
          </Link>
        )}
      </div>
      <p role="status" class="notice">
        {notice}
      </p>
      <div class="run-grid">
        <Summary job={job} onCancel={write ? () => void cancel() : undefined} />
        <RunLoss job={job} live={live} smoothing={smoothing} setSmoothing={setSmoothing} />
      </div>
      <NotesPanel
        job={job}
        write={write}
        onSaved={(edited) => setJob((old) => (old ? { ...old, ...edited } : edited))}
      />
      <ForkPanel job={job} write={write} />
      <EpochPanel epochs={job.metrics.epochs} />
      {job.metrics.epochs.length > 0 && <EvaluationPanel job={job} />}
      <ModelPanel job={job} />
      <section aria-labelledby="spec-heading">
        <h2 id="spec-heading">Spec</h2>
        <pre class="spec">{JSON.stringify(job.spec, null, 2)}</pre>
      </section>
    </article>
  );
}
