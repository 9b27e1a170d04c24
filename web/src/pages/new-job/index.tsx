import type { FieldIssue } from '@trainer/client';
import { exerciseNetworkNames, exerciseNetworks, optimizers } from '../../domain';
import { integer } from '../../format';
import { Link } from '../../router';
import { usePermissions } from '../../session';
import { SelectField, TextField, type FieldContext } from './fields';
import { presetState, type FormState } from './form-state';
import { LayerEditor } from './layer-editor';
import { modelCheck } from './model-check';
import { useNewJob } from './use-new-job';

function Presets({ form, edit }: { form: FormState; edit: (next: FormState) => void }) {
  return (
    <div class="presets" role="group" aria-label="Presets">
      <span>Presets (the exercise's networks, SGD lr 0.01, batch 64, 3 epochs):</span>
      {exerciseNetworkNames.map((network) => (
        <button type="button" key={network} onClick={() => edit(presetState(network, form))}>
          {network} {exerciseNetworks[network].label}
        </button>
      ))}
    </div>
  );
}

function OtherIssues({ issues }: { issues: FieldIssue[] }) {
  if (issues.length === 0) return null;
  return (
    <ul class="error">
      {issues.map((issue) => (
        <li key={issue.path + issue.message}>
          <code>{issue.path}</code>: {issue.message}
        </li>
      ))}
    </ul>
  );
}

function Settings({ field, datasets }: { field: FieldContext; datasets: string[] }) {
  return (
    <div class="form-grid">
      <TextField id="name" label="Name" {...field} />
      <TextField id="tags" label="Tags (comma-separated)" {...field} />
      <SelectField id="dataset" label="Dataset" options={datasets} {...field} />
      <TextField id="epochs" label="Epochs" inputMode="numeric" {...field} />
      <TextField id="learningRate" label="Learning rate" inputMode="decimal" {...field} />
      <TextField id="batchSize" label="Batch size" inputMode="numeric" {...field} />
      <SelectField id="optimizer" label="Optimizer" options={optimizers} {...field} />
      <TextField id="trainSamples" label="Training examples" hint="all" inputMode="numeric" {...field} />
      <TextField id="testSamples" label="Test examples" hint="all" inputMode="numeric" {...field} />
      <TextField id="seed" label="Seed" hint="picked by the server" inputMode="numeric" {...field} />
    </div>
  );
}

/** The architecture and parameter count, as the server will count them; kept settings the form has no fields for. */
function ModelSummary({ check, form }: { check: ReturnType<typeof modelCheck>; form: FormState }) {
  const kept = Object.entries(form.kept);
  return (
    <>
      <p class="parameters" aria-live="polite">
        <span class="mono">{check.architecture}</span>:{' '}
        <strong data-parameters={check.parameters ?? ''}>
          {check.parameters === null ? '–' : integer(check.parameters)}
        </strong>{' '}
        parameters
      </p>
      {kept.length > 0 && (
        <p class="small muted" data-kept>
          Also from the run: {kept.map(([name, value]) => `${name} ${JSON.stringify(value)}`).join(', ')}
        </p>
      )}
    </>
  );
}

function NewJobForm({ query }: { query: URLSearchParams }) {
  const { form, edit, issues, message, submitting, datasets, submit } = useNewJob(query);
  const check = modelCheck(form, datasets, issues.byPath);
  const field: FieldContext = {
    form,
    issues: issues.byPath,
    set: (id, value) => edit({ ...form, [id]: value }),
  };
  return (
    <section class="new-job">
      <h1>New job</h1>
      <Presets form={form} edit={edit} />
      <form onSubmit={(event) => void submit(event)} noValidate aria-describedby="form-message">
        <p id="form-message" role="alert" class={message ? 'error' : ''}>
          {message}
        </p>
        <OtherIssues issues={issues.other} />
        <Settings field={field} datasets={datasets.map(({ name }) => name)} />
        <LayerEditor
          layers={form.layers}
          issues={check.issues}
          walk={check.walk}
          input={check.input}
          update={(layers) => edit({ ...form, layers })}
        />
        <ModelSummary check={check} form={form} />
        <button type="submit" class="primary" disabled={submitting}>
          {submitting ? 'Submitting…' : 'Submit job'}
        </button>
      </form>
    </section>
  );
}

export function NewJobPage({ query }: { query: URLSearchParams }) {
  const { write, owner } = usePermissions();
  if (!write)
    return (
      <section class="new-job">
        <h1>New job</h1>
        <p class="notice" data-refused="viewer">
          The key in use (owner <strong>{owner}</strong>) is a viewer's: it may look at runs but not submit them. Ask an
          admin for a member key to start jobs.
        </p>
        <Link href="/runs">See the runs</Link>
      </section>
    );
  return <NewJobForm query={query} />;
}
