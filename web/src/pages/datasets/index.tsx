import { useEffect, useState } from 'preact/hooks';
import { getOptional, type DatasetSummary } from '../api';
import { DatasetUpload } from '../components/dataset-upload';
import { integer } from '../format';
import { usePermissions } from '../session';

function sizeOf(dataset: DatasetSummary): string {
  const { bytes } = dataset;
  if (bytes === null) return '–';
  if (bytes < 1e3) return `${integer(bytes)} B`;
  return bytes > 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${integer(Math.round(bytes / 1e3))} kB`;
}

export function DatasetsPage() {
  const { write } = usePermissions();
  const [datasets, setDatasets] = useState<DatasetSummary[] | null | undefined>(undefined);
  useEffect(() => {
    getOptional<{ datasets: DatasetSummary[] }>('/datasets').then(
      (body) => setDatasets(body?.datasets ?? null),
      () => setDatasets(null),
    );
  }, []);
  // The upload answers with the dataset: the list shows it without asking for the list again.
  const uploaded = (dataset: DatasetSummary) =>
    setDatasets((current) => [...(current ?? []).filter((other) => other.name !== dataset.name), dataset]);
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
              <tr key={dataset.name} data-dataset={dataset.name}>
                <td>{dataset.name}</td>
                <td class="mono">{dataset.inputShape.join('×')}</td>
                <td class="num">{dataset.numClasses}</td>
                <td class="num">{integer(dataset.trainSize)}</td>
                <td class="num">{integer(dataset.testSize)}</td>
                <td class="num">{sizeOf(dataset)}</td>
                <td class="description">{dataset.description}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {write ? (
        <DatasetUpload onUploaded={uploaded} />
      ) : (
        <p class="muted">Uploading datasets needs a member or admin key.</p>
      )}
    </section>
  );
}
