import type { DatasetSummary, FieldIssue } from '@trainer/client';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, failureText, optional, TrainerApiError, unwrap } from '../../api';
import { navigate } from '../../router';
import { fromSpec, presetState, toSpec, type FormState } from './form-state';
import { groupIssues, type Issues } from './issues';

/** A fresh Idempotency-Key; works outside secure contexts too, where crypto.randomUUID is missing. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export type DatasetChoice = Pick<DatasetSummary, 'name' | 'inputShape'>;

/** The datasets to pick from: GET /datasets when the API has it, the bundled MNIST otherwise. */
function useDatasets(): DatasetChoice[] {
  const [datasets, setDatasets] = useState<DatasetChoice[]>([{ name: 'mnist', inputShape: [28, 28, 1] }]);
  useEffect(() => {
    optional(api.GET('/datasets'))
      .then((body) => {
        if (body && body.datasets.length > 0) setDatasets(body.datasets);
      })
      .catch(() => undefined);
  }, []);
  return datasets;
}

/** The form, first the exercise's first network (on `?dataset=`), or `?from=`'s run to run again. */
function useFormState(query: URLSearchParams, onLoadFailure: (message: string) => void) {
  // ?dataset= (the datasets page links here after an upload) picks the dataset.
  const [form, setForm] = useState<FormState>(() => ({
    ...presetState('mlp'),
    dataset: query.get('dataset') ?? 'mnist',
  }));
  const from = query.get('from');
  useEffect(() => {
    if (!from) return;
    unwrap(api.GET('/jobs/{id}', { params: { path: { id: from } } })).then(
      (job) => setForm(fromSpec(job.spec, `${job.name ?? 'run'} (again)`)),
      (failure: unknown) => onLoadFailure(`Could not load run ${from}: ${failureText(failure)}`),
    );
  }, [from]);
  return { form, setForm };
}

/**
 * The new-job form's state and its submission: each submission carries an Idempotency-Key, the same
 * until the form is edited, so a double click makes one job; a 400's issues go beside their fields.
 */
export function useNewJob(query: URLSearchParams) {
  const [message, setMessage] = useState<string | null>(null);
  const { form, setForm } = useFormState(query, setMessage);
  const [issues, setIssues] = useState<{ byPath: Issues; other: FieldIssue[] }>({ byPath: new Map(), other: [] });
  const [submitting, setSubmitting] = useState(false);
  const datasets = useDatasets();
  const key = useRef(newKey());
  const inFlight = useRef(false);

  // Any edit makes a new submission: a new key. Submitting the same form twice reuses it.
  const edit = (next: FormState) => {
    key.current = newKey();
    setForm(next);
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setSubmitting(true);
    setMessage(null);
    try {
      const job = await unwrap(api.POST('/jobs', { body: toSpec(form), headers: { 'idempotency-key': key.current } }));
      navigate(`/runs/${job.id}`);
    } catch (failure) {
      if (failure instanceof TrainerApiError && failure.issues.length > 0) {
        setIssues(groupIssues(failure.issues, form.layers.length));
        setMessage(`${failure.message}. Fix the fields marked below.`);
      } else setMessage(failureText(failure));
    } finally {
      inFlight.current = false;
      setSubmitting(false);
    }
  };

  return { form, edit, issues, message, submitting, datasets, submit };
}
