import type { Comparison } from '@trainer/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { noAncestry, readAncestry, withAncestry, type Ancestry } from '../../ancestry';
import { LineChart, palette, type ChartSeries } from '../../components/line-chart';
import { smooth } from '../../smoothing';

// The compared runs' loss curves overlaid; a fork's continues its ancestors', greyed up to the fork
// point, as on the run page.

export type Axis = 'step' | 'epoch';

/** How many ancestors' points the chart draws (for tests: 0 when none is). */
const ancestorPoints = (ancestries: ReadonlyMap<string, Ancestry>) =>
  [...ancestries.values()].reduce((total, ancestry) => total + ancestry.steps.length, 0);

type CurveRun = Comparison['curves']['runs'][number];

/** The grey of the ancestors' part of a forked run's curve, as the run page draws it. */
const ancestorStroke = 'rgba(120,120,120,0.6)';

/**
 * One run's columns: x, its smoothed loss and, for a fork drawn with its ancestors, their loss up to
 * the fork point. On the epoch axis the ancestors' steps are placed at the run's own steps per epoch,
 * so their curve ends where the run's begins.
 */
function runColumns(run: CurveRun, ancestry: Ancestry, axis: Axis, smoothing: number): uPlot.AlignedData {
  const { points } = run;
  const first = points[0];
  const perStep = axis === 'step' || !first || first.step === 0 ? 1 : first.epochFraction / first.step;
  const x = points.map((point) => (axis === 'step' ? point.step : point.epochFraction));
  // Smoothed as one curve from the first ancestor's first step, so the fork's part carries on from
  // where its parents' ended instead of restarting the average at the fork point.
  const smoothed = smooth([...ancestry.losses, ...points.map((point) => point.loss)], smoothing);
  const before = ancestry.losses.length;
  const ancestorX = ancestry.steps.map((step) => step * perStep);
  return withAncestry(ancestorX, smoothed.slice(0, before), x, [smoothed.slice(before)]) as uPlot.AlignedData;
}

function curvesData(
  comparison: Comparison,
  ancestries: ReadonlyMap<string, Ancestry>,
  axis: Axis,
  smoothing: number,
): uPlot.AlignedData {
  const tables = comparison.curves.runs.map((run) =>
    runColumns(run, ancestries.get(run.id) ?? noAncestry, axis, smoothing),
  );
  if (tables.length === 0) return [[]];
  return uPlot.join(tables);
}

/** The chart's series, in curvesData's order: each run's, then its ancestors' where it has them drawn. */
function curveSeries(
  comparison: Comparison,
  ancestries: ReadonlyMap<string, Ancestry>,
  hidden: Set<string>,
): ChartSeries[] {
  return comparison.curves.runs.flatMap((run, index) => {
    const show = !hidden.has(run.id);
    const own = { label: run.label, stroke: palette[index % palette.length]!, width: 1.75, show };
    if (!ancestries.get(run.id)?.steps.length) return [own];
    // Dashed: where a compared parent's own curve lies under it, both stay visible.
    const ancestors = { label: `${run.label}: parent runs`, stroke: ancestorStroke, width: 1.5, dash: [5, 4], show };
    return [own, ancestors];
  });
}

/** Each compared run's ancestry (empty for runs that are no fork), asked once per set of runs. */
export function useAncestries(comparison: Comparison | null): ReadonlyMap<string, Ancestry> {
  const [ancestries, setAncestries] = useState<ReadonlyMap<string, Ancestry>>(new Map());
  useEffect(() => {
    if (!comparison) return;
    const controller = new AbortController();
    const { points, runs } = comparison.curves;
    void Promise.all(
      runs.map((run) =>
        readAncestry(run.id, points, controller.signal).then(
          (ancestry) => [run.id, ancestry] as const,
          () => [run.id, noAncestry] as const,
        ),
      ),
    ).then((found) => {
      if (!controller.signal.aborted) setAncestries(new Map(found));
    });
    return () => controller.abort();
  }, [comparison]);
  return ancestries;
}

/** The runs' smoothed curves on one chart, each fork's ancestors before it where `ancestries` has them. */
export function CompareChart(props: {
  comparison: Comparison;
  ancestries: ReadonlyMap<string, Ancestry>;
  /** Whether forks are drawn with their ancestors (the title and note say so). */
  forksGreyed: boolean;
  axis: Axis;
  smoothing: number;
  hidden: Set<string>;
}) {
  const { comparison, ancestries, axis, smoothing } = props;
  const data = useMemo(
    () => curvesData(comparison, ancestries, axis, smoothing),
    [comparison, ancestries, axis, smoothing],
  );
  const count = comparison.runs.length;
  return (
    <>
      <div class="compare-chart" data-ancestor-points={ancestorPoints(ancestries)}>
        <LineChart
          title={`Training loss of ${count} runs overlaid by ${axis}${
            props.forksGreyed ? ', forks continuing their parents’ curves (greyed)' : ''
          }; the tables below compare them`}
          xLabel={axis}
          yLabel="loss (smoothed)"
          legend={false}
          series={curveSeries(comparison, ancestries, props.hidden)}
          data={data}
          height={340}
        />
      </div>
      {props.forksGreyed && <p class="small muted">Grey: a fork’s parent runs, up to the step it was forked at.</p>}
    </>
  );
}
