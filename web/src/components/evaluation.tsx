import { useEffect, useState } from 'preact/hooks';
import { getOptional, type Evaluation, type JobView } from '../api';
import { ImageWithKey } from './with-key';
import { useCapabilities } from '../capabilities';
import { percent } from '../format';

const ratio = (value: number | null) => (value === null ? '–' : value.toFixed(3));

/** Cell colour: white for none, deep blue for the row's largest share (rows are true labels). */
function shade(count: number, rowTotal: number): string {
  const share = rowTotal === 0 ? 0 : count / rowTotal;
  const lightness = 97 - Math.round(Math.sqrt(share) * 62);
  return `hsl(212 70% ${lightness}%)`;
}

function ConfusionMatrix({ evaluation }: { evaluation: Evaluation }) {
  const labels = evaluation.confusionMatrix.map((_row, index) => index);
  return (
    <div class="table-scroll">
      <table class="confusion">
        <caption>
          Confusion matrix, epoch {evaluation.epoch}: rows are true labels, columns predictions; colour is the share of
          the row
        </caption>
        <thead>
          <tr>
            <th scope="col">true \ predicted</th>
            {labels.map((label) => (
              <th scope="col" key={label}>
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {evaluation.confusionMatrix.map((row, trueLabel) => {
            const total = row.reduce((sum, count) => sum + count, 0);
            return (
              <tr key={trueLabel}>
                <th scope="row">{trueLabel}</th>
                {row.map((count, predicted) => (
                  <td
                    key={predicted}
                    class={predicted === trueLabel ? 'diagonal' : ''}
                    style={{ background: shade(count, total), color: count / (total || 1) > 0.5 ? '#fff' : '#222' }}
                  >
                    {count}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function PerClass({ evaluation }: { evaluation: Evaluation }) {
  return (
    <div class="table-scroll">
      <table>
        <caption>Per class</caption>
        <thead>
          <tr>
            <th scope="col">Class</th>
            <th scope="col" class="num">
              Precision
            </th>
            <th scope="col" class="num">
              Recall
            </th>
            <th scope="col" class="num">
              F1
            </th>
            <th scope="col" class="num">
              Support
            </th>
          </tr>
        </thead>
        <tbody>
          {evaluation.classes.map((row) => (
            <tr key={row.label}>
              <td>{row.label}</td>
              <td class="num">{ratio(row.precision)}</td>
              <td class="num">{ratio(row.recall)}</td>
              <td class="num">{ratio(row.f1)}</td>
              <td class="num">{row.support}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
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
export function EvaluationPanel({ job }: { job: JobView }) {
  const [evaluation, setEvaluation] = useState<Evaluation | null>(null);
  const epochs = job.metrics.epochs.length;
  useEffect(() => {
    getOptional<Evaluation>(`/jobs/${job.id}/evaluation`).then(setEvaluation, () => setEvaluation(null));
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
