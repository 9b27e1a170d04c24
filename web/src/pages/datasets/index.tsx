import type { DatasetSummary } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, optional } from '../../api';
import { Table, type Column } from '../../components/table';
import { integer } from '../../format';
import { usePermissions } from '../../session';
import { DatasetUpload } from './upload';

function sizeOf(dataset: DatasetSummary): string {
  const { bytes } = dataset;
  if (bytes === null) return '–';
  if (bytes < 1e3) return `${integer(bytes)} B`;
  return bytes > 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${integer(Math.round(bytes / 1e3))} kB`;
}

const columns: Column<DatasetSummary>[] = [
  { key: 'name', header: 'Name', cell: (dataset) => dataset.name },
  { key: 'shape', header: 'Input shape', cellClass: 'mono', cell: (dataset) => dataset.inputShape.join('×') },
  { key: 'classes', header: 'Classes', headerClass: 'num', cell: (dataset) => dataset.numClasses },
  { key: 'train', header: 'Train', headerClass: 'num', cell: (dataset) => integer(dataset.trainSize) },
  { key: 'test', header: 'Test', headerClass: 'num', cell: (dataset) => integer(dataset.testSize) },
  { key: 'size', header: 'Size', headerClass: 'num', cell: sizeOf },
  { key: 'description', header: 'Description', cellClass: 'description', cell: (dataset) => dataset.description },
];

/** GET /datasets: undefined while asked, null when this API has no datasets. */
function useDatasets() {
  const [datasets, setDatasets] = useState<DatasetSummary[] | null | undefined>(undefined);
  useEffect(() => {
    optional(api.GET('/datasets')).then(
      (body) => setDatasets(body?.datasets ?? null),
      () => setDatasets(null),
    );
  }, []);
  // The upload answers with the dataset: the list shows it without asking for the list again.
  const uploaded = (dataset: DatasetSummary) =>
    setDatasets((current) => [...(current ?? []).filter((other) => other.name !== dataset.name), dataset]);
  return { datasets, uploaded };
}

export function DatasetsPage() {
  const { write } = usePermissions();
  const { datasets, uploaded } = useDatasets();
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
      <Table
        columns={columns}
        rows={datasets}
        rowKey={(dataset) => dataset.name}
        rowProps={(dataset) => ({ 'data-dataset': dataset.name })}
      />
      {write ? (
        <DatasetUpload onUploaded={uploaded} />
      ) : (
        <p class="muted">Uploading datasets needs a member or admin key.</p>
      )}
    </section>
  );
}
