import type { Dataset, FieldIssue } from '@trainer/client';
import type { ComponentChildren } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { failureText, TrainerApiError, uploadDataset } from '../../api';
import { Field } from '../../components/field';
import { integer } from '../../format';
import { Link } from '../../router';

type Format = 'idx' | 'csv';

/** The file fields of POST /datasets per format (README "Your own data"). */
const fileFields: Record<Format, [name: string, label: string][]> = {
  idx: [
    ['trainImages', 'Training images (IDX)'],
    ['trainLabels', 'Training labels (IDX)'],
    ['testImages', 'Test images (IDX)'],
    ['testLabels', 'Test labels (IDX)'],
  ],
  csv: [
    ['train', 'Training examples (CSV)'],
    ['test', 'Test examples (CSV)'],
  ],
};

const formats: [Format, string][] = [
  ['idx', 'IDX: images and labels, four files (MNIST’s format)'],
  ['csv', 'CSV: one example per row, two files'],
];

type Outcome =
  | { state: 'idle' }
  | { state: 'sending'; sent: number | null }
  | { state: 'uploaded'; dataset: Dataset }
  | { state: 'refused'; message: string; byField: Map<string, string[]>; other: FieldIssue[] };

/** The fields this form shows, by the name the API gives them in `issues`. */
const shownFields = new Set([
  'name',
  'description',
  'labelColumn',
  'header',
  ...Object.values(fileFields)
    .flat()
    .map(([name]) => name),
]);

function refusal(failure: unknown): Outcome {
  const byField = new Map<string, string[]>();
  const other: FieldIssue[] = [];
  if (!(failure instanceof TrainerApiError))
    return { state: 'refused', message: `The upload failed: ${failureText(failure)}`, byField, other };
  for (const issue of failure.issues) {
    if (shownFields.has(issue.path)) byField.set(issue.path, [...(byField.get(issue.path) ?? []), issue.message]);
    else other.push(issue);
  }
  return { state: 'refused', message: failure.message, byField, other };
}

/** The form without what was left empty: an empty file input or text field is "not given", as the API reads it. */
function chosenFields(form: HTMLFormElement): FormData {
  const body = new FormData(form);
  for (const [name, value] of [...body.entries()])
    if (value instanceof File ? value.name === '' && value.size === 0 : value.trim() === '') body.delete(name);
  return body;
}

/** A field of the upload form, with the refusal's issues about it. */
function UploadField(props: {
  name: string;
  label: string;
  outcome: Outcome;
  children: (attributes: Record<string, unknown>) => ComponentChildren;
}) {
  const { name, outcome } = props;
  const messages = outcome.state === 'refused' ? outcome.byField.get(name) : undefined;
  return (
    <Field id={`upload-${name}`} path={name} label={props.label} errorId={`upload-${name}-error`} messages={messages}>
      {(attributes) => props.children({ ...attributes, name })}
    </Field>
  );
}

function Uploaded({ dataset }: { dataset: Dataset }) {
  return (
    <p role="status" class="uploaded">
      Uploaded <strong>{dataset.name}</strong>: examples of {dataset.inputShape.join('×')}, {dataset.numClasses}{' '}
      classes, {integer(dataset.trainSize)} for training and {integer(dataset.testSize)} for testing.{' '}
      <Link href={`/runs/new?dataset=${encodeURIComponent(dataset.name)}`}>Train a model on {dataset.name}</Link>
    </p>
  );
}

function Progress({ sent }: { sent: number | null }) {
  // Once every byte is sent the server still reads and checks the files before it answers.
  const label = sent === null ? 'Sending…' : sent < 1 ? `Sending: ${Math.floor(sent * 100)} %` : 'Checking the files…';
  return (
    <p class="upload-progress">
      <progress
        max={1}
        {...(sent === null ? {} : { value: sent })}
        aria-label="Upload progress"
        data-sent={sent ?? ''}
      />{' '}
      <span aria-live="polite">{label}</span>
    </p>
  );
}

function Refused({ outcome }: { outcome: Extract<Outcome, { state: 'refused' }> }) {
  return (
    <div role="alert" class="error" data-refused>
      <p>
        {outcome.message}
        {outcome.byField.size > 0 && ' (the fields are marked above)'}
      </p>
      {outcome.other.length > 0 && (
        <ul>
          {outcome.other.map((issue) => (
            <li key={issue.path + issue.message}>
              <code>{issue.path}</code>: {issue.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The upload's state, and the submit that sends the form and reports its progress. */
function useUpload(onUploaded: (dataset: Dataset) => void) {
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });
  // Bumped after an upload: the inputs are made anew, empty, for the next one.
  const [generation, setGeneration] = useState(0);
  const sending = useRef(false);
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    if (sending.current) return;
    sending.current = true;
    setOutcome({ state: 'sending', sent: 0 });
    uploadDataset(chosenFields(event.currentTarget as HTMLFormElement), (sent) =>
      setOutcome({ state: 'sending', sent }),
    )
      .then(
        (dataset) => {
          setOutcome({ state: 'uploaded', dataset });
          setGeneration((value) => value + 1);
          onUploaded(dataset);
        },
        (failure: unknown) => setOutcome(refusal(failure)),
      )
      .finally(() => {
        sending.current = false;
      });
  };
  return { outcome, generation, submit };
}

function FormatChoice({ format, setFormat }: { format: Format; setFormat: (format: Format) => void }) {
  return (
    <fieldset class="formats">
      <legend>File format</legend>
      {formats.map(([value, label]) => (
        <label key={value} class="inline">
          <input
            type="radio"
            name="format"
            value={value}
            checked={format === value}
            onChange={() => setFormat(value)}
          />
          {label}
        </label>
      ))}
    </fieldset>
  );
}

function FileFields({ format, outcome }: { format: Format; outcome: Outcome }) {
  return (
    <>
      {fileFields[format].map(([name, label]) => (
        <UploadField key={name} name={name} label={label} outcome={outcome}>
          {(attributes) => (
            <input {...attributes} type="file" accept={format === 'csv' ? '.csv,.gz,text/csv' : undefined} />
          )}
        </UploadField>
      ))}
      {format === 'csv' && (
        <>
          <UploadField name="labelColumn" label="Label column (index from 0, or header name)" outcome={outcome}>
            {(attributes) => <input {...attributes} placeholder="0" autoComplete="off" />}
          </UploadField>
          <UploadField name="header" label="First row is a header" outcome={outcome}>
            {(attributes) => (
              <select {...attributes}>
                <option value="auto">when a cell is not a number</option>
                <option value="yes">yes</option>
                <option value="no">no</option>
              </select>
            )}
          </UploadField>
        </>
      )}
    </>
  );
}

/**
 * Uploads a dataset (IDX or CSV files) with its progress; a refusal's issues show beside the fields
 * they name. `onUploaded` gets the new dataset, for the list to show it without asking again.
 */
export function DatasetUpload({ onUploaded }: { onUploaded: (dataset: Dataset) => void }) {
  const [format, setFormat] = useState<Format>('idx');
  const { outcome, generation, submit } = useUpload(onUploaded);
  return (
    <form class="upload" onSubmit={submit} noValidate aria-labelledby="upload-title">
      <h2 id="upload-title">Upload a dataset</h2>
      <div class="form-grid" key={`names-${generation}`}>
        <UploadField name="name" label="Name (lowercase letters, digits, -)" outcome={outcome}>
          {(attributes) => <input {...attributes} required autoComplete="off" />}
        </UploadField>
        <UploadField name="description" label="Description" outcome={outcome}>
          {(attributes) => <input {...attributes} />}
        </UploadField>
      </div>
      <FormatChoice format={format} setFormat={setFormat} />
      <div class="form-grid" key={`files-${generation}`}>
        <FileFields format={format} outcome={outcome} />
      </div>
      <div class="upload-outcome">
        {outcome.state === 'sending' && <Progress sent={outcome.sent} />}
        {outcome.state === 'uploaded' && <Uploaded dataset={outcome.dataset} />}
        {outcome.state === 'refused' && <Refused outcome={outcome} />}
      </div>
      <button type="submit" class="primary" disabled={outcome.state === 'sending'}>
        {outcome.state === 'sending' ? 'Uploading…' : 'Upload'}
      </button>
    </form>
  );
}
