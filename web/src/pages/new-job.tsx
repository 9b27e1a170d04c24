import { useEffect, useRef, useState } from 'preact/hooks';
import {
  ApiError,
  getJson,
  getOptional,
  sendJson,
  type DatasetSummary,
  type FieldIssue,
  type JobSpec,
  type JobView,
} from '../api';
import { integer } from '../format';
import { architectureOf, countParameters, knownInputSizes } from '../parameters';
import { Link, navigate } from '../router';
import { usePermissions } from '../session';

interface LayerRow {
  key: number;
  type: 'dense' | 'dropout';
  units: string;
  activation: string;
  rate: string;
}

interface FormState {
  name: string;
  tags: string;
  dataset: string;
  seed: string;
  trainSamples: string;
  testSamples: string;
  epochs: string;
  learningRate: string;
  batchSize: string;
  optimizer: string;
  layers: LayerRow[];
}

const activations = ['relu', 'sigmoid', 'tanh', 'linear'];
const optimizers = ['sgd', 'momentum', 'adam', 'rmsprop'];
let nextKey = 1;

const dense = (units: number, activation = 'relu'): LayerRow => ({
  key: nextKey++,
  type: 'dense',
  units: String(units),
  activation,
  rate: '0.2',
});

/** The original exercise's two networks, trained with SGD at 0.01, batch 64, for 3 epochs. */
export const presets = [
  { name: 'mlp 784-512-512-10', units: [512, 512] },
  { name: 'deep 784-512-1024-512-128-10', units: [512, 1024, 512, 128] },
];

function presetState(index: number, keep?: FormState): FormState {
  const preset = presets[index]!;
  return {
    name: preset.name,
    tags: keep?.tags ?? '',
    dataset: keep?.dataset ?? 'mnist',
    seed: keep?.seed ?? '',
    trainSamples: keep?.trainSamples ?? '',
    testSamples: keep?.testSamples ?? '',
    epochs: '3',
    learningRate: '0.01',
    batchSize: '64',
    optimizer: 'sgd',
    layers: [...preset.units.map((units) => dense(units)), dense(10, 'linear')],
  };
}

function fromSpec(spec: JobSpec, name: string): FormState {
  const text = (value: number | undefined) => (value === undefined ? '' : String(value));
  return {
    name,
    tags: (spec.tags ?? []).join(', '),
    dataset: spec.dataset ?? 'mnist',
    seed: '',
    trainSamples: text(spec.trainSamples),
    testSamples: text(spec.testSamples),
    epochs: String(spec.epochs),
    learningRate: String(spec.learningRate),
    batchSize: String(spec.batchSize),
    optimizer: spec.optimizer ?? 'sgd',
    layers: spec.model.layers.flatMap((layer): LayerRow[] =>
      layer.type === 'dense' || layer.type === 'dropout'
        ? [
            {
              key: nextKey++,
              type: layer.type,
              units: String(layer.units ?? 10),
              activation: String(layer.activation ?? 'linear'),
              rate: String(layer.rate ?? 0.2),
            },
          ]
        : [],
    ),
  };
}

/** A number when the text is one; otherwise the text itself, so the API names the field. */
const numeric = (text: string): number | string =>
  text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;

function toSpec(form: FormState): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    model: {
      layers: form.layers.map((layer) =>
        layer.type === 'dense'
          ? { type: 'dense', units: numeric(layer.units), activation: layer.activation }
          : { type: 'dropout', rate: numeric(layer.rate) },
      ),
    },
    epochs: numeric(form.epochs),
    learningRate: numeric(form.learningRate),
    batchSize: numeric(form.batchSize),
    optimizer: form.optimizer,
    dataset: form.dataset,
  };
  if (form.name.trim()) spec.name = form.name.trim();
  const tags = form.tags
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
  if (tags.length > 0) spec.tags = tags;
  for (const key of ['seed', 'trainSamples', 'testSamples'] as const)
    if (form[key].trim()) spec[key] = numeric(form[key]);
  return spec;
}

/** A fresh Idempotency-Key; works outside secure contexts too, where crypto.randomUUID is missing. */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

type Issues = Map<string, string[]>;

function FieldError({ id, issues }: { id: string; issues: Issues }) {
  const messages = issues.get(id);
  if (!messages) return null;
  return (
    <span class="field-error" id={`${id}-error`} data-path={id}>
      {messages.join('; ')}
    </span>
  );
}

const invalid = (id: string, issues: Issues) =>
  issues.has(id) ? { 'aria-invalid': true as const, 'aria-describedby': `${id}-error` } : {};

function TextField(props: {
  id: keyof FormState;
  label: string;
  form: FormState;
  issues: Issues;
  set(id: keyof FormState, value: string): void;
  hint?: string;
  inputMode?: 'numeric' | 'decimal';
}) {
  const { id, form, issues } = props;
  return (
    <div class={`field ${issues.has(id) ? 'has-error' : ''}`}>
      <label for={`field-${id}`}>{props.label}</label>
      <input
        id={`field-${id}`}
        name={id}
        value={form[id] as string}
        inputMode={props.inputMode}
        placeholder={props.hint}
        onInput={(event) => props.set(id, event.currentTarget.value)}
        {...invalid(id, issues)}
      />
      <FieldError id={id} issues={issues} />
    </div>
  );
}

function LayerEditor(props: { form: FormState; issues: Issues; inputSize: number; update(layers: LayerRow[]): void }) {
  const { layers } = props.form;
  const change = (index: number, patch: Partial<LayerRow>) =>
    props.update(layers.map((layer, at) => (at === index ? { ...layer, ...patch } : layer)));
  const move = (index: number, by: number) => {
    const next = layers.slice();
    const [layer] = next.splice(index, 1);
    next.splice(index + by, 0, layer!);
    props.update(next);
  };
  return (
    <fieldset class={`layers ${props.issues.has('model.layers') ? 'has-error' : ''}`}>
      <legend>Layers (input: {props.inputSize} features)</legend>
      <FieldError id="model.layers" issues={props.issues} />
      <ol>
        {layers.map((layer, index) => {
          const path = `model.layers.${index}`;
          return (
            <li key={layer.key} class="layer-row" data-layer={index}>
              <label>
                Layer {index + 1} type
                <select
                  value={layer.type}
                  onChange={(event) => change(index, { type: event.currentTarget.value as LayerRow['type'] })}
                >
                  <option value="dense">dense</option>
                  <option value="dropout">dropout</option>
                </select>
              </label>
              {layer.type === 'dense' ? (
                <>
                  <label>
                    Units
                    <input
                      name={`${path}.units`}
                      inputMode="numeric"
                      size={6}
                      value={layer.units}
                      onInput={(event) => change(index, { units: event.currentTarget.value })}
                      {...invalid(`${path}.units`, props.issues)}
                    />
                  </label>
                  <label>
                    Activation
                    <select
                      value={layer.activation}
                      onChange={(event) => change(index, { activation: event.currentTarget.value })}
                    >
                      {activations.map((name) => (
                        <option key={name}>{name}</option>
                      ))}
                    </select>
                  </label>
                </>
              ) : (
                <label>
                  Rate
                  <input
                    name={`${path}.rate`}
                    inputMode="decimal"
                    size={5}
                    value={layer.rate}
                    onInput={(event) => change(index, { rate: event.currentTarget.value })}
                    {...invalid(`${path}.rate`, props.issues)}
                  />
                </label>
              )}
              <span class="layer-buttons">
                <button
                  type="button"
                  disabled={index === 0}
                  onClick={() => move(index, -1)}
                  aria-label={`Move layer ${index + 1} up`}
                >
                  ↑
                </button>
                <button
                  type="button"
                  disabled={index === layers.length - 1}
                  onClick={() => move(index, 1)}
                  aria-label={`Move layer ${index + 1} down`}
                >
                  ↓
                </button>
                <button
                  type="button"
                  disabled={layers.length === 1}
                  onClick={() => props.update(layers.filter((_, at) => at !== index))}
                  aria-label={`Remove layer ${index + 1}`}
                >
                  ✕
                </button>
              </span>
              {[path, `${path}.units`, `${path}.rate`, `${path}.activation`, `${path}.type`].map((id) => (
                <FieldError key={id} id={id} issues={props.issues} />
              ))}
            </li>
          );
        })}
      </ol>
      <button type="button" onClick={() => props.update([...layers.slice(0, -1), dense(128), ...layers.slice(-1)])}>
        Add dense layer
      </button>{' '}
      <button
        type="button"
        onClick={() =>
          props.update([...layers.slice(0, -1), { ...dense(0), type: 'dropout', units: '' }, ...layers.slice(-1)])
        }
      >
        Add dropout
      </button>
    </fieldset>
  );
}

const formFields = [
  'name',
  'tags',
  'dataset',
  'seed',
  'trainSamples',
  'testSamples',
  'epochs',
  'learningRate',
  'batchSize',
  'optimizer',
];

/** Issues by the field they name; the ones no field shows go under "other". */
function groupIssues(issues: FieldIssue[], layerCount: number): { byPath: Issues; other: FieldIssue[] } {
  const byPath: Issues = new Map();
  const other: FieldIssue[] = [];
  for (const issue of issues) {
    const layer = /^model\.layers(\.(\d+)(\.(units|rate|activation|type))?)?$/.exec(issue.path);
    const known =
      formFields.includes(issue.path.split('.')[0]!) && !issue.path.startsWith('model')
        ? issue.path.split('.')[0]!
        : layer && (layer[2] === undefined || Number(layer[2]) < layerCount)
          ? issue.path
          : null;
    if (known) byPath.set(known, [...(byPath.get(known) ?? []), issue.message]);
    else other.push(issue);
  }
  return { byPath, other };
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

function NewJobForm({ query }: { query: URLSearchParams }) {
  // ?dataset= (the datasets page links here after an upload) picks the dataset.
  const [form, setForm] = useState<FormState>(() => ({
    ...presetState(0),
    dataset: query.get('dataset') ?? 'mnist',
  }));
  const [issues, setIssues] = useState<{ byPath: Issues; other: FieldIssue[] }>({ byPath: new Map(), other: [] });
  const [message, setMessage] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [datasets, setDatasets] = useState<Pick<DatasetSummary, 'name' | 'inputShape'>[]>([
    { name: 'mnist', inputShape: [28, 28, 1] },
  ]);
  const key = useRef(newKey());
  const inFlight = useRef(false);
  const from = query.get('from');

  useEffect(() => {
    if (from)
      getJson<JobView>(`/jobs/${from}`).then(
        (job) => setForm(fromSpec(job.spec, `${job.name ?? 'run'} (again)`)),
        (failure: unknown) =>
          setMessage(`Could not load run ${from}: ${failure instanceof Error ? failure.message : String(failure)}`),
      );
    void getOptional<{ datasets: DatasetSummary[] }>('/datasets')
      .then((body) => {
        if (body && body.datasets.length > 0) setDatasets(body.datasets);
      })
      .catch(() => undefined);
  }, [from]);

  // Any edit makes a new submission: a new key. Submitting the same form twice reuses it.
  const edit = (next: FormState) => {
    key.current = newKey();
    setForm(next);
  };
  const set = (id: keyof FormState, value: string) => edit({ ...form, [id]: value });

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (inFlight.current) return;
    inFlight.current = true;
    setSubmitting(true);
    setMessage(null);
    try {
      const job = await sendJson<JobView>('POST', '/jobs', toSpec(form), { 'idempotency-key': key.current });
      navigate(`/runs/${job.id}`);
    } catch (failure) {
      if (failure instanceof ApiError && failure.body?.issues) {
        setIssues(groupIssues(failure.body.issues, form.layers.length));
        setMessage(`${failure.body.error}. Fix the fields marked below.`);
      } else setMessage(failure instanceof Error ? failure.message : String(failure));
    } finally {
      inFlight.current = false;
      setSubmitting(false);
    }
  };

  const shape = datasets.find((dataset) => dataset.name === form.dataset)?.inputShape;
  const inputSize = shape ? shape.reduce((product, size) => product * size, 1) : (knownInputSizes[form.dataset] ?? 784);
  const layers = form.layers.map((layer) =>
    layer.type === 'dense'
      ? { type: 'dense', units: Number(layer.units) }
      : { type: 'dropout', rate: Number(layer.rate) },
  );
  const parameters = countParameters(layers, inputSize);
  const field = { form, issues: issues.byPath, set };

  return (
    <section class="new-job">
      <h1>New job</h1>
      <div class="presets" role="group" aria-label="Presets">
        <span>Presets (the exercise's networks, SGD lr 0.01, batch 64, 3 epochs):</span>
        {presets.map((preset, index) => (
          <button type="button" key={preset.name} onClick={() => edit(presetState(index, form))}>
            {preset.name}
          </button>
        ))}
      </div>
      <form onSubmit={(event) => void submit(event)} noValidate aria-describedby="form-message">
        <p id="form-message" role="alert" class={message ? 'error' : ''}>
          {message}
        </p>
        {issues.other.length > 0 && (
          <ul class="error">
            {issues.other.map((issue) => (
              <li key={issue.path + issue.message}>
                <code>{issue.path}</code>: {issue.message}
              </li>
            ))}
          </ul>
        )}
        <div class="form-grid">
          <TextField id="name" label="Name" {...field} />
          <TextField id="tags" label="Tags (comma-separated)" {...field} />
          <div class={`field ${issues.byPath.has('dataset') ? 'has-error' : ''}`}>
            <label for="field-dataset">Dataset</label>
            <select
              id="field-dataset"
              value={form.dataset}
              onChange={(event) => set('dataset', event.currentTarget.value)}
            >
              {datasets.map(({ name }) => (
                <option key={name}>{name}</option>
              ))}
            </select>
            <FieldError id="dataset" issues={issues.byPath} />
          </div>
          <TextField id="epochs" label="Epochs" inputMode="numeric" {...field} />
          <TextField id="learningRate" label="Learning rate" inputMode="decimal" {...field} />
          <TextField id="batchSize" label="Batch size" inputMode="numeric" {...field} />
          <div class={`field ${issues.byPath.has('optimizer') ? 'has-error' : ''}`}>
            <label for="field-optimizer">Optimizer</label>
            <select
              id="field-optimizer"
              value={form.optimizer}
              onChange={(event) => set('optimizer', event.currentTarget.value)}
            >
              {optimizers.map((name) => (
                <option key={name}>{name}</option>
              ))}
            </select>
            <FieldError id="optimizer" issues={issues.byPath} />
          </div>
          <TextField id="trainSamples" label="Training examples" hint="all" inputMode="numeric" {...field} />
          <TextField id="testSamples" label="Test examples" hint="all" inputMode="numeric" {...field} />
          <TextField id="seed" label="Seed" hint="picked by the server" inputMode="numeric" {...field} />
        </div>
        <LayerEditor
          form={form}
          issues={issues.byPath}
          inputSize={inputSize}
          update={(next) => edit({ ...form, layers: next })}
        />
        <p class="parameters" aria-live="polite">
          <span class="mono">{architectureOf(layers, inputSize)}</span>:{' '}
          <strong data-parameters={parameters}>{integer(parameters)}</strong> parameters
        </p>
        <button type="submit" class="primary" disabled={submitting}>
          {submitting ? 'Submitting…' : 'Submit job'}
        </button>
      </form>
    </section>
  );
}
