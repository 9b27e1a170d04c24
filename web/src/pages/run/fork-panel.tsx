import type { Job } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, failureText, optional, unwrap } from '../../api';
import { integer } from '../../format';
import { Link, navigate } from '../../router';

type KeptCheckpoint = NonNullable<Awaited<ReturnType<typeof readCheckpoints>>>['checkpoints'][number];

const readCheckpoints = (id: string) => optional(api.GET('/jobs/{id}/checkpoints', { params: { path: { id } } }));

/** The run's kept checkpoints, read again as epochs finish. */
function useCheckpoints(job: Job): KeptCheckpoint[] {
  const [kept, setKept] = useState<KeptCheckpoint[]>([]);
  useEffect(() => {
    readCheckpoints(job.id).then(
      (list) => setKept(list?.checkpoints ?? []),
      () => setKept([]),
    );
  }, [job.id, job.metrics.epochs.length, job.status]);
  return kept;
}

/** Where the run comes from and which runs were forked from it. */
function Lineage({ job }: { job: Job }) {
  const { parent, children = [] } = job;
  if (!parent && children.length === 0) return null;
  return (
    <ul class="lineage">
      {parent && (
        <li data-parent={parent.jobId}>
          Forked from{' '}
          {parent.deleted ? (
            <span class="muted">a deleted run ({parent.jobId.slice(0, 8)}): its history ends at the fork point</span>
          ) : (
            <Link href={`/runs/${parent.jobId}`}>run {parent.jobId.slice(0, 8)}</Link>
          )}{' '}
          at epoch {parent.epoch} (step {integer(parent.step)}); kept its weights
          {parent.resumed.optimizerState ? ', optimizer state' : ''}
          {parent.resumed.dataOrder ? ' and batches' : ''}.
        </li>
      )}
      {children.map((child) => (
        <li key={child.jobId} data-child={child.jobId}>
          <Link href={`/runs/${child.jobId}`}>Run {child.jobId.slice(0, 8)}</Link> was forked from epoch {child.epoch}.
        </li>
      ))}
    </ul>
  );
}

interface ForkChoice {
  epoch: number;
  epochs: number;
  learningRate: string;
}

/** The fields of the fork form: the kept epoch, the run's epochs in all, the learning rate. */
function ForkFields({
  kept,
  choice,
  change,
}: {
  kept: KeptCheckpoint[];
  choice: ForkChoice;
  change: (next: Partial<ForkChoice>) => void;
}) {
  const value = (event: Event) => (event.target as HTMLInputElement | HTMLSelectElement).value;
  return (
    <>
      <label>
        From epoch{' '}
        <select name="fromEpoch" value={choice.epoch} onChange={(event) => change({ epoch: Number(value(event)) })}>
          {kept.map((checkpoint) => (
            <option key={checkpoint.epoch} value={checkpoint.epoch}>
              {checkpoint.epoch}
              {checkpoint.best ? ' (best)' : ''}
            </option>
          ))}
        </select>
      </label>{' '}
      <label>
        Epochs{' '}
        <input
          name="epochs"
          type="number"
          min={choice.epoch + 1}
          value={choice.epochs}
          onInput={(event) => change({ epochs: Number(value(event)) })}
        />
      </label>{' '}
      <label>
        Learning rate{' '}
        <input
          name="learningRate"
          inputMode="decimal"
          value={choice.learningRate}
          onInput={(event) => change({ learningRate: value(event) })}
        />
      </label>{' '}
    </>
  );
}

/** A form to fork the run from a kept epoch, or continue it from its last one with more epochs. */
function ForkForm({ job, kept }: { job: Job; kept: KeptCheckpoint[] }) {
  const last = kept.at(-1)?.epoch ?? 0;
  const initial = {
    epoch: last,
    epochs: Math.max(job.spec.epochs, last + 1),
    learningRate: String(job.spec.learningRate),
  };
  const [choice, setChoice] = useState<ForkChoice>(initial);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => setChoice(initial), [last, job.spec.epochs]);
  // Continuing: from the last finished epoch, with more epochs than the run had.
  const continuing = choice.epoch === last && choice.epochs > job.spec.epochs;

  const fork = async (event: Event) => {
    event.preventDefault();
    setProblem(null);
    const rate = Number(choice.learningRate);
    const overrides = { epochs: choice.epochs, ...(rate !== job.spec.learningRate ? { learningRate: rate } : {}) };
    try {
      const body = { fromEpoch: choice.epoch, overrides };
      const child = await unwrap(api.POST('/jobs/{id}/fork', { params: { path: { id: job.id } }, body }));
      navigate(`/runs/${child.id}`);
    } catch (failure) {
      setProblem(failureText(failure));
    }
  };

  return (
    <form class="fork-form" onSubmit={(event) => void fork(event)}>
      <ForkFields kept={kept} choice={choice} change={(next) => setChoice((old) => ({ ...old, ...next }))} />
      <button type="submit">{continuing ? 'Continue' : 'Fork'}</button>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

/** The run's lineage, and (for keys that may write) forking or continuing it from a kept checkpoint. */
export function ForkPanel({ job, write }: { job: Job; write: boolean }) {
  const kept = useCheckpoints(job);
  if (kept.length === 0 && !job.parent && (job.children ?? []).length === 0) return null;
  return (
    <section aria-labelledby="fork-heading" class="fork-panel">
      <h2 id="fork-heading">Fork or continue</h2>
      <Lineage job={job} />
      {kept.length > 0 && (
        <p class="small muted">
          Kept checkpoints: epochs {kept.map((checkpoint) => checkpoint.epoch).join(', ')}. A fork starts from one with
          its weights, optimizer state and data order; unchanged, it repeats this run exactly.
        </p>
      )}
      {write && kept.length > 0 && <ForkForm job={job} kept={kept} />}
    </section>
  );
}
