import { useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { ConnectionBadge } from '../../components/badges';
import { LineChart, type ChartSeries } from '../../components/line-chart';
import { SmoothingControl } from '../../components/smoothing-control';
import { integer, loss } from '../../format';
import type { LiveCurve } from '../../loss-curve';
import { withAncestry, type Ancestry } from '../../ancestry';

function CurveNote({ live }: { live: LiveCurve }) {
  const { curve } = live;
  const last = curve.steps.length;
  return (
    <p class="small muted">
      {last === 0
        ? 'No steps yet.'
        : `${integer(last)} points up to step ${integer(curve.lastStep)}, last loss ${loss(curve.losses.at(-1))}${
            live.downsampled ? ` (history of ${integer(live.totalSteps)} steps downsampled, then every live step)` : ''
          }.`}
      {live.error && <span class="error"> Could not load the history: {live.error}</span>}
    </p>
  );
}

/** The loss curve, live, with its smoothing; a fork's ancestors' curve before it, greyed. */
export function LossPanel({
  live,
  smoothing,
  setSmoothing,
  ancestry,
}: {
  live: LiveCurve;
  smoothing: number;
  setSmoothing: (value: number) => void;
  ancestry: Ancestry;
}) {
  const { curve, version } = live;
  const series: ChartSeries[] = [
    { label: 'loss', stroke: 'rgba(31,119,180,0.3)', width: 1 },
    { label: `smoothed (${smoothing.toFixed(2)})`, stroke: '#1f77b4', width: 2 },
    ...(ancestry.steps.length > 0 ? [{ label: 'parent runs', stroke: 'rgba(120,120,120,0.6)', width: 1 }] : []),
  ];
  // The ancestors' steps (a fork's) first, as a grey series of their own, then the run's.
  const data = useMemo(
    () =>
      withAncestry(ancestry.steps, ancestry.losses, curve.steps, [curve.losses, curve.smoothed]) as uPlot.AlignedData,
    [version, ancestry],
  );
  const last = curve.steps.length;
  return (
    <section aria-labelledby="loss-heading">
      <div class="title-row">
        <h2 id="loss-heading">Training loss</h2>
        <ConnectionBadge state={live.connection} />
        <div class="spacer" />
        <SmoothingControl value={smoothing} onChange={setSmoothing} />
      </div>
      <div
        class="loss-chart"
        data-points={last}
        data-last-step={curve.lastStep}
        data-ancestor-points={ancestry.steps.length}
      >
        <LineChart
          title={`Training loss by step, ${last} points up to step ${curve.lastStep}`}
          xLabel="step"
          yLabel="loss"
          series={series}
          data={data}
          version={version}
        />
      </div>
      <CurveNote live={live} />
    </section>
  );
}
