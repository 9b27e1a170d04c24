import { useEffect, useState } from 'preact/hooks';
import { getOptional, type DatasetSummary } from '../api';
import { authHeaders, currentKey, keyRefused } from '../auth';
import { integer } from '../format';
import { usePermissions } from '../session';

function sizeOf(dataset: DatasetSummary): string {
  const bytes = dataset.sizeBytes ?? dataset.bytes;
  if (bytes === undefined) return '–';
  return bytes > 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${integer(Math.round(bytes / 1e3))} kB`;
}

function splitSize(dataset: DatasetSummary, split: 'train' | 'test'): string {
  const value = dataset.splits?.[split] ?? (split === 'train' ? dataset.trainSize : dataset.testSize);
  return value === undefined ? '–' : integer(value);
}

/**
 * Uploads with progress (XMLHttpRequest reports upload progress; fetch does not). The form's fields go
 * as multipart, named as the file inputs are: POST /datasets documents them in /openapi.json.
 */
function UploadForm({ onDone }: { onDone: () => void }) {
  const [progress, setProgress] = useState<number | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    const body = new FormData(event.currentTarget as HTMLFormElement);
    const request = new XMLHttpRequest();
    request.open('POST', '/datasets');
    const key = currentKey();
    for (const [name, value] of Object.entries(authHeaders(key))) request.setRequestHeader(name, value);
    request.upload.onprogress = (progressEvent) =>
      setProgress(progressEvent.lengthComputable ? progressEvent.loaded / progressEvent.total : null);
    request.onload = () => {
      setProgress(null);
      if (request.status < 300) {
        setMessage('Uploaded.');
        onDone();
      } else {
        const answer = JSON.parse(request.responseText || '{}') as {
          error?: string;
          issues?: { path: string; message: string }[];
        };
        if (request.status === 401) keyRefused(answer.error ?? 'this server needs an API key', key);
        setMessage(
          [
            answer.error ?? `HTTP ${request.status}`,
            ...(answer.issues ?? []).map((issue) => `${issue.path}: ${issue.message}`),
          ].join('; '),
        );
      }
    };
    request.onerror = () => setMessage('The upload failed: the connection broke.');
    request.send(body);
  };
  return (
    <form class="upload" onSubmit={submit}>
      <h2>Upload a dataset</h2>
      <div class="form-grid">
        <div class="field">
          <label for="upload-name">Name</label>
          <input id="upload-name" name="name" required pattern="[a-z0-9][a-z0-9-]{0,62}" />
        </div>
        <div class="field">
          <label for="upload-description">Description</label>
          <input id="upload-description" name="description" />
        </div>
        {[
          ['trainImages', 'Training images (IDX)'],
          ['trainLabels', 'Training labels (IDX)'],
          ['testImages', 'Test images (IDX)'],
          ['testLabels', 'Test labels (IDX)'],
        ].map(([name, label]) => (
          <div class="field" key={name}>
            <label for={`upload-${name}`}>{label}</label>
            <input id={`upload-${name}`} name={name} type="file" />
          </div>
        ))}
      </div>
      {progress !== null && <progress max={1} value={progress} aria-label="Upload progress" />}
      <p role="status">{message}</p>
      <button type="submit">Upload</button>
    </form>
  );
}

export function DatasetsPage() {
  const { write } = usePermissions();
  const [datasets, setDatasets] = useState<DatasetSummary[] | null | undefined>(undefined);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    getOptional<{ datasets?: DatasetSummary[] } | DatasetSummary[]>('/datasets').then(
      (body) => setDatasets(body === null ? null : Array.isArray(body) ? body : (body.datasets ?? [])),
      () => setDatasets(null),
    );
  }, [version]);
  if (datasets === undefined) return <p aria-busy="true">Loading…</p>;
  if (datasets === null)
    return (
      <section>
        <h1>Datasets</h1>
        <p>This server has no dataset API yet: jobs train on the bundled MNIST.</p>
      </section>
    );
  return (
    <section>
      <h1>Datasets</h1>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Input shape</th>
              <th scope="col" class="num">
                Classes
              </th>
              <th scope="col" class="num">
                Train
              </th>
              <th scope="col" class="num">
                Test
              </th>
              <th scope="col" class="num">
                Size
              </th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {datasets.map((dataset) => (
              <tr key={dataset.name}>
                <td>{dataset.name}</td>
                <td class="mono">{dataset.inputShape?.join('×') ?? '–'}</td>
                <td class="num">{dataset.classCount ?? dataset.classNames?.length ?? '–'}</td>
                <td class="num">{splitSize(dataset, 'train')}</td>
                <td class="num">{splitSize(dataset, 'test')}</td>
                <td class="num">{sizeOf(dataset)}</td>
                <td>{dataset.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {write ? (
        <UploadForm onDone={() => setVersion((value) => value + 1)} />
      ) : (
        <p class="muted">Uploading datasets needs a member or admin key.</p>
      )}
    </section>
  );
}
