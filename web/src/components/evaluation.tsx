import type { Evaluation, Job } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, optional } from '../api';
import { useCapabilities } from '../capabilities';
import { percent } from '../format';
import { Table, type Column } from './table';
import { ImageWithKey } from './with-key';

const ratio = (value: number | null) => (value === null ? '–' : value.toFixed(3));

/** Cell colour: white for none, deep blue for the row's largest share (rows are true labels). */
function shade(count: number, rowTotal: number): string {
  const share = rowTotal === 0 ? 0 : count / rowTotal;
  const lightness = 97 - Math.round(Math.sqrt(share) * 62);
  return `hsl(212 70% ${lightness}%)`;
}

type ClassRow = Evaluation['classes'][number];

/** Rows of the confusion matrix: the true label, the counts by predicted label, and their total. */
interface MatrixRow {
  trueLabel: number;
  counts: number[];
  total: number;
}

function matrixColumns(labels: number[]): Column<MatrixRow>[] {
  return [
    { key: 'true', header: 'true \\ predicted', rowHeader: true, cell: (row) => row.trueLabel },
    ...labels.map((predicted): Column<MatrixRow> => ({
      key: predicted,
      header: predicted,
      cell: (row) => row.counts[predicted],
      cellProps: (row) => {
        const count = row.counts[predicted] ?? 0;
        return {
          class: predicted === row.trueLabel ? 'diagonal' : '',
          style: { background: shade(count, row.total), color: count / (row.total || 1) > 0.5 ? '#fff' : '#222' },
        };
      },
    })),
  ];
}

function ConfusionMatrix({ evaluation }: { evaluation: Evaluation }) {
  const labels = evaluation.confusionMatrix.map((_row, index) => index);
  const rows = evaluation.confusionMatrix.map((counts, trueLabel) => ({
    trueLabel,
    counts,
    total: counts.reduce((sum, count) => sum + count, 0),
  }));
  return (
    <Table
      class="confusion"
      caption={`Confusion matrix, epoch ${evaluation.epoch}: rows are true labels, columns predictions; colour is the share of the row`}
      columns={matrixColumns(labels)}
      rows={rows}
      rowKey={(row) => row.trueLabel}
    />
  );
}

const classColumns: Column<ClassRow>[] = [
  { key: 'class', header: 'Class', cell: (row) => row.label },
  { key: 'precision', header: 'Precision', headerClass: 'num', cell: (row) => ratio(row.precision) },
  { key: 'recall', header: 'Recall', headerClass: 'num', cell: (row) => ratio(row.recall) },
  { key: 'f1', header: 'F1', headerClass: 'num', cell: (row) => ratio(row.f1) },
  { key: 'support', header: 'Support', headerClass: 'num', cell: (row) => row.support },
];

function PerClass({ evaluation }: { evaluation: Evaluation }) {
  return <Table caption="Per class" columns={classColumns} rows={evaluation.classes} rowKey={(row) => row.label} />;
}

function Mistakes({ evaluation, dataset }: { evaluation: Evaluation; dataset: string }) {
  const { exampleImages } = useCapabilities();
  if (evaluation.mistakes.length === 0) return null;
  return (
    <>
      <h3>Most confident mistakes</h3>
      <ul class="mistakes">
        {evaluation.mistakes.slice(0, 24).map((mistake) => (
          <li key={mistake.index}>
            {exampleImages && (
              <ImageWithKey
                src={`/datasets/${dataset}/examples/test/${mistake.index}.png?scale=3`}
                width={84}
                height={84}
                alt={`Test example ${mistake.index}, labelled ${mistake.trueLabel}`}
                loading="lazy"
              />
            )}
            <span class="small">
              #{mistake.index}: {mistake.trueLabel} seen as <strong>{mistake.predictedLabel}</strong> (
              {percent(mistake.confidence, 0)})
            </span>
          </li>
        ))}
      </ul>
    </>
  );
}

/** The last epoch's evaluation, when the API has one for this job (GET /jobs/:id/evaluation answers 200). */
export function EvaluationPanel({ job }: { job: Job }) {
  const [evaluation, setEvaluation] = useState<Evaluation | null>(null);
  const epochs = job.metrics.epochs.length;
  useEffect(() => {
    optional(api.GET('/jobs/{id}/evaluation', { params: { path: { id: job.id } } })).then(setEvaluation, () =>
      setEvaluation(null),
    );
  }, [job.id, epochs, job.status]);
  if (!evaluation || !Array.isArray(evaluation.confusionMatrix)) return null;
  return (
    <section aria-labelledby="evaluation-heading" class="evaluation">
      <h2 id="evaluation-heading">Evaluation</h2>
      <p>
        Epoch {evaluation.epoch}: {evaluation.correct} of {evaluation.count} test examples right (
        {percent(evaluation.accuracy)}).
      </p>
      <div class="evaluation-grid">
        <ConfusionMatrix evaluation={evaluation} />
        <PerClass evaluation={evaluation} />
      </div>
      <Mistakes evaluation={evaluation} dataset={job.dataset} />
    </section>
  );
}
