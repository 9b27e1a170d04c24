import type { Comparison } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import type { Ancestry } from '../../ancestry';
import { api, failureText, unwrap } from '../../api';
import { palette } from '../../components/line-chart';
import { SmoothingControl } from '../../components/smoothing-control';
import { Link, navigate } from '../../router';
import { CompareChart, useAncestries, type Axis } from './curves';
import { LayerDiff, RunsTable, showValue } from './tables';

function withQuery(query: URLSearchParams, key: string, value: string): string {
  const next = new URLSearchParams(query);
  next.set(key, value);
  return `/runs/compare?${next.toString()}`;
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

function AxisChoice({ query, axis }: { query: URLSearchParams; axis: Axis }) {
  return (
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
  );
}

function useComparison(ids: string) {
  const [comparison, setComparison] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setComparison(null);
    setError(null);
    unwrap(api.GET('/compare', { params: { query: { ids, points: '500' } } })).then(setComparison, (failure: unknown) =>
      setError(failureText(failure)),
    );
  }, [ids]);
  return { comparison, error };
}

/** Which runs' curves are hidden, toggled from the legend. */
function useHidden() {
  const [hidden, setHidden] = useState(new Set<string>());
  const toggle = (id: string) => {
    const next = new Set(hidden);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setHidden(next);
  };
  return { hidden, toggle };
}

/** "with ancestors": whether forks are drawn continuing their parents' curves (on unless the URL says off). */
function AncestorsChoice({ query, shown }: { query: URLSearchParams; shown: boolean }) {
  return (
    <label class="inline">
      <input
        type="checkbox"
        name="ancestors"
        checked={shown}
        onChange={() => navigate(withQuery(query, 'ancestors', shown ? 'off' : 'on'), { replace: true })}
      />
      with ancestors
    </label>
  );
}

const noAncestries: ReadonlyMap<string, Ancestry> = new Map();

export function ComparePage({ query }: { query: URLSearchParams }) {
  const axis: Axis = query.get('x') === 'epoch' ? 'epoch' : 'step';
  const { comparison, error } = useComparison(query.get('ids') ?? '');
  const [smoothing, setSmoothing] = useState(0.6);
  const { hidden, toggle } = useHidden();
  const ancestries = useAncestries(comparison);
  const anyFork = [...ancestries.values()].some((ancestry) => ancestry.steps.length > 0);
  const drawn = query.get('ancestors') === 'off' ? noAncestries : ancestries;

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
  if (!comparison) return <p aria-busy="true">Loading…</p>;

  return (
    <section class="compare">
      <h1>Compare {comparison.runs.length} runs</h1>
      <div class="controls">
        <AxisChoice query={query} axis={axis} />
        {anyFork && <AncestorsChoice query={query} shown={drawn === ancestries} />}
        <SmoothingControl value={smoothing} onChange={setSmoothing} />
      </div>
      <Legend comparison={comparison} hidden={hidden} toggle={toggle} />
      <CompareChart
        comparison={comparison}
        ancestries={drawn}
        forksGreyed={anyFork && drawn === ancestries}
        axis={axis}
        smoothing={smoothing}
        hidden={hidden}
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
