import { useEffect, useMemo, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { getJson, type Comparison } from '../api';
import { StatusBadge } from '../components/badges';
import { SmoothingControl } from '../components/smoothing-control';
import { LineChart, palette } from '../components/line-chart';
import { duration, integer, loss, percent } from '../format';
import { Link, navigate } from '../router';
import { smooth } from '../smoothing';

type Axis = 'step' | 'epoch';

function withQuery(query: URLSearchParams, key: string, value: string): string {
  const next = new URLSearchParams(query);
  next.set(key, value);
  return `/runs/compare?${next.toString()}`;
}

function curvesData(comparison: Comparison, axis: Axis, smoothing: number): uPlot.AlignedData {
  const tables = comparison.curves.runs.map(
    (run) =>
      [
        run.points.map((point) => (axis === 'step' ? point.step : point.epochFraction)),
        smooth(
          run.points.map((point) => point.loss),
          smoothing,
        ),
      ] as uPlot.AlignedData,
  );
  if (tables.length === 0) return [[]];
  return uPlot.join(tables);
}

const showValue = (value: string | number | null | undefined) =>
  value === null || value === undefined ? 'server default' : String(value);

function RunsTable({ comparison, hidden }: { comparison: Comparison; hidden: Set<string> }) {
  const differing = comparison.differingHyperparameters;
  return (
    <div class="table-scroll">
      <table class="compare-runs">
        <caption>
          Runs compared{differing.length > 0 && `; hyperparameters that differ: ${differing.join(', ')}`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Status</th>
            <th scope="col">Architecture</th>
            <th scope="col" class="num">
              Parameters
            </th>
            {differing.map((key) => (
              <th scope="col" key={key}>
                {key}
              </th>
            ))}
            <th scope="col" class="num">
              Final acc.
            </th>
            <th scope="col" class="num">
              Best acc.
            </th>
            <th scope="col" class="num">
              Final test loss
            </th>
            <th scope="col" class="num">
              Training time
            </th>
            <th scope="col" class="num">
              Samples/s
            </th>
          </tr>
        </thead>
        <tbody>
          {comparison.runs.map((run, index) => (
            <tr key={run.id} class={hidden.has(run.id) ? 'dimmed' : ''}>
              <th scope="row">
                <span class="swatch" style={{ background: palette[index % palette.length] }} />
                <Link href={`/runs/${run.id}`}>{run.label}</Link>
              </th>
              <td>
                <StatusBadge status={run.status} />
              </td>
              <td class="mono">{run.architecture}</td>
              <td class="num">{integer(run.parameterCount)}</td>
              {differing.map((key) => (
                <td key={key}>{showValue(run.hyperparameters[key])}</td>
              ))}
              <td class="num">{percent(run.finalTestAccuracy)}</td>
              <td class="num">{percent(run.bestTestAccuracy)}</td>
              <td class="num">{loss(run.finalTestLoss)}</td>
              <td class="num">{duration(run.trainingMs)}</td>
              <td class="num">{run.samplesPerSecond === null ? '–' : integer(Math.round(run.samplesPerSecond))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function LayerDiff({ comparison }: { comparison: Comparison }) {
  const labels = new Map(comparison.runs.map((run) => [run.id, run.label]));
  return (
    <div class="table-scroll">
      <table class="layer-diff">
        <caption>Layers, side by side (differences highlighted)</caption>
        <thead>
          <tr>
            <th scope="col">Layer</th>
            {comparison.architecture.runs.map((id) => (
              <th scope="col" key={id}>
                {labels.get(id) ?? id.slice(0, 8)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {comparison.architecture.layers.map((layer) => (
            <tr key={layer.index} class={layer.same ? '' : 'differs'}>
              <th scope="row">
                {layer.index + 1}
                {!layer.same && <span class="visually-hidden"> (differs)</span>}
              </th>
              {layer.byRun.map((text, index) => (
                <td key={index} class="mono">
                  {text ?? '—'}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Legend(props: { comparison: Comparison; hidden: Set<string>; toggle(id: string): void }) {
  return (
    <fieldset class="legend">
      <legend>Show runs</legend>
      {props.comparison.curves.runs.map((run, index) => (
        <label key={run.id} class="legend-item">
          <input type="checkbox" checked={!props.hidden.has(run.id)} onChange={() => props.toggle(run.id)} />
          <span class="swatch" style={{ background: palette[index % palette.length] }} />
          {run.label}
        </label>
      ))}
    </fieldset>
  );
}

export function ComparePage({ query }: { query: URLSearchParams }) {
  const ids = query.get('ids') ?? '';
  const axis: Axis = query.get('x') === 'epoch' ? 'epoch' : 'step';
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [smoothing, setSmoothing] = useState(0.6);
  const [hidden, setHidden] = useState(new Set<string>());

  useEffect(() => {
    setComparison(null);
    setError(null);
    getJson<Comparison>(`/compare?ids=${encodeURIComponent(ids)}&points=500`).then(setComparison, (failure: unknown) =>
      setError(failure instanceof Error ? failure.message : String(failure)),
    );
  }, [ids]);

  const data = useMemo(
    () => (comparison ? curvesData(comparison, axis, smoothing) : null),
    [comparison, axis, smoothing],
  );
  const toggle = (id: string) => {
    const next = new Set(hidden);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setHidden(next);
  };

  if (error)
    return (
      <section>
        <h1>Compare runs</h1>
        <p class="error">{error}</p>
        <p>
          Pick 2 to 20 runs on the <Link href="/runs">runs page</Link> and press Compare.
        </p>
      </section>
    );
  if (!comparison || !data) return <p aria-busy="true">Loading…</p>;

  return (
    <section class="compare">
      <h1>Compare {comparison.runs.length} runs</h1>
      <div class="controls">
        <fieldset class="inline">
          <legend>x axis</legend>
          {(['step', 'epoch'] as const).map((value) => (
            <label key={value}>
              <input
                type="radio"
                name="x"
                value={value}
                checked={axis === value}
                onChange={() => navigate(withQuery(query, 'x', value), { replace: true })}
              />{' '}
              by {value}
            </label>
          ))}
        </fieldset>
        <SmoothingControl value={smoothing} onChange={setSmoothing} />
      </div>
      <Legend comparison={comparison} hidden={hidden} toggle={toggle} />
      <LineChart
        title={`Training loss of ${comparison.runs.length} runs overlaid by ${axis}; the tables below compare them`}
        xLabel={axis}
        yLabel="loss (smoothed)"
        legend={false}
        series={comparison.curves.runs.map((run, index) => ({
          label: run.label,
          stroke: palette[index % palette.length]!,
          width: 1.75,
          show: !hidden.has(run.id),
        }))}
        data={data}
        height={340}
      />
      <h2>Runs</h2>
      <RunsTable comparison={comparison} hidden={hidden} />
      {Object.keys(comparison.sharedHyperparameters).length > 0 && (
        <p class="small">
          Shared:{' '}
          {Object.entries(comparison.sharedHyperparameters)
            .map(([key, value]) => `${key} ${showValue(value)}`)
            .join(', ')}
        </p>
      )}
      <h2>Layers</h2>
      <LayerDiff comparison={comparison} />
    </section>
  );
}
