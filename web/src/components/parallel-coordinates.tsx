import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { goodness, goodnessColour, objectiveAxis, parameterAxis, type Axis } from '../parallel-axes';
import type { SweepLeaderboardEntry as LeaderboardEntry } from '@trainer/client';
import type { Objective, SweepParameter } from '../sweep-text';

export interface ParallelCoordinatesProps {
  /** Swept parameters by path, in the spec's order, with their definitions. */
  parameters: [string, SweepParameter | undefined][];
  objective: Objective;
  runs: LeaderboardEntry[];
  /** A run to bring forward (the leaderboard row under the pointer or the keyboard focus). */
  highlight: string | null;
  /** The run whose line the pointer is nearest, or null. */
  onHover: (jobId: string | null) => void;
  /** What the chart shows, for screen readers; `describedBy` names the table that holds the numbers. */
  title: string;
  describedBy: string;
  height?: number;
}

interface Plan {
  axes: Axis[];
  /** Runs in drawing order: without an objective first, then worst to best, so the best is on top. */
  runs: LeaderboardEntry[];
  data: uPlot.AlignedData;
  colours: string[];
}

function plan(props: ParallelCoordinatesProps): Plan {
  const { parameters, objective } = props;
  const axes = [
    ...parameters.map(([path, parameter]) =>
      parameterAxis(
        path,
        parameter,
        props.runs.map((run) => run.parameters[path]),
      ),
    ),
    objectiveAxis(objective, props.runs),
  ];
  const score = goodness(objective, props.runs);
  const runs = [...props.runs].sort((a, b) => (score(a) ?? -1) - (score(b) ?? -1) || b.rank - a.rank);
  const data: uPlot.AlignedData = [
    axes.map((_axis, index) => index),
    ...runs.map((run) => [
      ...parameters.map(([path], index) => axes[index]!.position(run.parameters[path])),
      run.objective === null ? null : axes.at(-1)!.position(run.objective),
    ]),
  ];
  return { axes, runs, data, colours: runs.map((run) => goodnessColour(score(run))) };
}

const font = '12px system-ui, sans-serif';

/** Each axis's tick labels, right of its line; the ends' just above and below it, clear of the lines there. */
function drawTicks(u: uPlot, axes: Axis[]): void {
  const { ctx } = u;
  const ratio = uPlot.pxRatio;
  ctx.save();
  ctx.font = font.replace(/^\d+/, (size) => String(Number(size) * ratio));
  ctx.lineWidth = 3 * ratio;
  ctx.strokeStyle = 'rgba(255,255,255,0.85)';
  ctx.fillStyle = '#333';
  axes.forEach((axis, index) => {
    const x = u.valToPos(index, 'x', true) + 4 * ratio;
    for (const tick of axis.ticks) {
      const end = tick.at === 1 ? -1 : tick.at === 0 ? 1 : 0;
      ctx.textBaseline = end < 0 ? 'bottom' : end > 0 ? 'top' : 'middle';
      const y = u.valToPos(tick.at, 'y', true) + end * 4 * ratio;
      ctx.strokeText(tick.text, x, y);
      ctx.fillText(tick.text, x, y);
    }
  });
  ctx.restore();
}

/** How far the pointer is from a run's line where it is, between two axes (uPlot measures at the nearest axis). */
function distanceToLine(u: uPlot, seriesIndex: number, _index: number, _valuePos: number, pointerTop: number): number {
  const x = u.posToVal(u.cursor.left ?? -1, 'x');
  const values = u.data[seriesIndex]!;
  const left = Math.max(0, Math.min(values.length - 2, Math.floor(x)));
  const [a, b] = [values[left], values[left + 1]];
  if (a === null || a === undefined) return Infinity;
  const y = b === null || b === undefined ? a : a + (b - a) * Math.min(1, Math.max(0, x - left));
  return Math.abs(u.valToPos(y, 'y') - pointerTop);
}

/** A name broken into lines of about `width` characters, after dots and before capitals (`validation Accuracy`). */
function wrapName(name: string, width: number): string[] {
  const parts = name.split(/(?<=\.)|(?=[A-Z])/);
  const lines: string[] = [];
  for (const part of parts) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + part.length <= width) lines[lines.length - 1] = last + part;
    else lines.push(part);
  }
  return lines;
}

const charWidth = 7;

function options(props: ParallelCoordinatesProps, drawn: Plan, width: number, best: string | null): uPlot.Options {
  // Names are broken into lines when they would run into each other.
  const room = Math.max(6, Math.floor((width - 100) / Math.max(1, drawn.axes.length - 1) / charWidth) - 1);
  const names = drawn.axes.map((axis) => wrapName(axis.label, Math.max(room, 8)));
  const lines = Math.max(...names.map((name) => name.length));
  const halfWidth = (name: string[] | undefined) =>
    (Math.max(...(name ?? ['']).map((line) => line.length)) * charWidth) / 2;
  return {
    width,
    height: props.height ?? 320,
    // Room for the first and last names (centred on their axes) and the last axis's tick labels.
    padding: [20, Math.max(70, halfWidth(names.at(-1))), 0, Math.max(16, halfWidth(names[0]))],
    legend: { show: false },
    cursor: {
      x: false,
      y: false,
      points: { show: false },
      drag: { x: false, y: false },
      focus: { prox: 16, dist: distanceToLine },
    },
    focus: { alpha: 0.25 },
    scales: { x: { time: false, range: [0, Math.max(1, names.length - 1)] }, y: { range: [0, 1] } },
    axes: [
      {
        stroke: '#333',
        font,
        splits: () => names.map((_name, index) => index),
        values: () => names.map((name) => name.join('\n')),
        grid: { stroke: '#9aa3b2', width: 1 },
        ticks: { show: false },
        gap: 20,
        size: 28 + lines * 15,
      },
      { show: false },
    ],
    series: [
      {},
      ...drawn.runs.map((run, index) => ({
        label: run.jobId,
        stroke: drawn.colours[index]!,
        width: run.jobId === best ? 4 : 1.75,
        points: { show: true, size: run.jobId === best ? 8 : 5, fill: drawn.colours[index]! },
      })),
    ],
    hooks: {
      draw: [(u) => drawTicks(u, drawn.axes)],
      // Fired for focus only (series are never hidden): null when the pointer leaves every line.
      setSeries: [(_u, index) => props.onHover(index === null ? null : (drawn.runs[index - 1]?.jobId ?? null))],
    },
  };
}

/**
 * A parallel-coordinates chart of a sweep drawn by uPlot: x is the axis (each parameter, then the
 * objective), every run is one series of its values placed on each axis, coloured by its objective;
 * the best run is drawn widest and on top.
 */
export function ParallelCoordinates(props: ParallelCoordinatesProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<{ u: uPlot; runs: LeaderboardEntry[] } | null>(null);
  const drawn = useMemo(() => plan(props), [props.runs, props.parameters, props.objective]);
  const best = props.runs.find((run) => run.rank === 1 && run.objective !== null)?.jobId ?? null;
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const forward = { ...props, onHover: (id: string | null) => latest.current.onHover(id) };
    const u = new uPlot(options(forward, drawn, element.clientWidth || 600, best), drawn.data, element);
    plot.current = { u, runs: drawn.runs };
    element.dataset.series = String(u.series.length - 1);
    const observer = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== u.width) u.setSize({ width, height: u.height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt when the runs change: their colours and drawing order follow the leaderboard.
  }, [drawn]);

  useEffect(() => {
    const current = plot.current;
    if (!current) return;
    const index = props.highlight ? current.runs.findIndex((run) => run.jobId === props.highlight) : -1;
    current.u.setSeries(index < 0 ? null : index + 1, { focus: index >= 0 }, false);
  }, [props.highlight, drawn]);

  return (
    <div
      class="chart parallel-chart"
      ref={container}
      role="img"
      aria-label={props.title}
      aria-describedby={props.describedBy}
      data-best={best ?? ''}
    />
  );
}
