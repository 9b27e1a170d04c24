import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { cancelRedraw, scheduleRedraw } from './redraw';

/** 20 colours that stay apart from each other, one per compared run. */
export const palette = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
  '#393b79',
  '#ad494a',
  '#637939',
  '#e6550d',
  '#7b4173',
  '#843c39',
  '#d6616b',
  '#3182bd',
  '#31a354',
  '#756bb1',
];

export interface ChartSeries {
  label: string;
  stroke: string;
  width?: number;
  show?: boolean;
  dash?: number[];
  /** Mark each value (for sparse series such as per-epoch values). */
  points?: boolean;
}

export interface LineChartProps {
  /** What the chart shows, for screen readers; the table beside it holds the numbers. */
  title: string;
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
  /** x values first, then one array per series, all the same length (null for no value). */
  data: uPlot.AlignedData;
  /** Bump to redraw after the arrays in `data` were changed in place. */
  version?: number;
  /**
   * Redraw as the component renders, in the same task, instead of in a coming frame: for callers that
   * pace their renders themselves (the live page re-renders a few cards per frame), so a card's text
   * and chart change together.
   */
  drawOnRender?: boolean;
  height?: number;
  legend?: boolean;
  logY?: boolean;
  /** Whole-number x ticks (epochs). */
  integerX?: boolean;
  /** Second y axis for series whose label is listed (e.g. accuracy beside loss). */
  rightAxis?: { label: string; series: string[]; format?: (value: number) => string };
}

/** A scale for fractions (accuracy): padded around the values but never past 0..1. */
function fractionRange(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  if (min === null || max === null) return [0, 1];
  const pad = Math.max(0.01, (max - min) * 0.1);
  return [Math.max(0, min - pad), Math.min(1, max + pad)];
}

function options(props: LineChartProps, width: number): uPlot.Options {
  const right = props.rightAxis;
  const onRight = (label: string) => right?.series.includes(label) ?? false;
  const axisStyle = { stroke: '#444', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' } };
  const axes: uPlot.Axis[] = [
    { ...axisStyle, label: props.xLabel, ...(props.integerX ? { incrs: [1, 2, 5, 10, 20, 50, 100] } : {}) },
    { ...axisStyle, label: props.yLabel, scale: 'y', size: 60 },
  ];
  if (right) {
    const format = right.format;
    axes.push({
      ...axisStyle,
      label: right.label,
      scale: 'right',
      side: 1,
      grid: { show: false },
      size: 60,
      ...(format ? { values: (_u: uPlot, values: number[]) => values.map(format) } : {}),
    });
  }
  return {
    width,
    height: props.height ?? 280,
    legend: { show: props.legend ?? true },
    cursor: { drag: { x: true, y: false } },
    scales: {
      x: { time: false },
      y: props.logY ? { distr: 3 } : {},
      ...(right ? { right: { range: fractionRange } } : {}),
    },
    axes,
    series: [
      { label: props.xLabel },
      ...props.series.map((series) => ({
        label: series.label,
        stroke: series.stroke,
        width: series.width ?? 1.5,
        show: series.show ?? true,
        spanGaps: true,
        scale: onRight(series.label) ? 'right' : 'y',
        ...(series.dash ? { dash: series.dash } : {}),
        points: series.points ? { show: true, size: 7, fill: series.stroke } : { show: false },
      })),
    ],
  };
}

/** A uPlot line chart that fills its container's width and redraws when `data` or `version` changes. */
export function LineChart(props: LineChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = `${props.series.map((series) => `${series.label}:${series.stroke}:${series.dash?.join() ?? ''}`).join('|')}|${props.logY ? 1 : 0}|${props.xLabel}`;

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const created = new uPlot(options(props, element.clientWidth || 600), props.data, element);
    plot.current = created;
    const observer = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== created.width) created.setSize({ width, height: created.height });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      cancelRedraw(created);
      created.destroy();
      plot.current = null;
    };
    // The plot is rebuilt only when its series change; data changes go through setData below.
  }, [shape]);

  const drawOnRender = props.drawOnRender ?? false;
  useLayoutEffect(() => {
    const current = plot.current;
    if (!current || !drawOnRender) return;
    current.batch(() => current.setData(props.data));
  }, [props.data, props.version]);

  useEffect(() => {
    const current = plot.current;
    if (!current || drawOnRender) return;
    const data = props.data;
    // Drawn synchronously inside the frame's budget (batch commits at once instead of in a microtask).
    scheduleRedraw(current, () => current.batch(() => current.setData(data)));
  }, [props.data, props.version]);

  useEffect(() => {
    const current = plot.current;
    if (!current) return;
    props.series.forEach((series, index) => {
      const show = series.show ?? true;
      if (current.series[index + 1]?.show !== show) current.setSeries(index + 1, { show });
    });
  });

  return <div class="chart" ref={container} role="img" aria-label={props.title} />;
}
