import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Comparison } from './schemas.js';

// One subtitle line per run: what it is and how it ended, without repeating what its name says.
function describe(run: Comparison['runs'][number]): string {
  const parts = [
    run.label?.includes(run.architecture) ? null : run.architecture,
    `${run.parameterCount.toLocaleString('en-US')} parameters`,
  ];
  if (run.finalTestAccuracy !== null) parts.push(`final test accuracy ${(run.finalTestAccuracy * 100).toFixed(1)}%`);
  return `${run.label}: ${parts.filter(Boolean).join(', ')}`;
}

/** The original exercise's figure: every run's loss curve overlaid, as SVG, drawn by Vega-Lite. */
export async function lossChartSvg(comparison: Comparison, xAxis: 'step' | 'epoch'): Promise<string> {
  const values = comparison.curves.runs.flatMap((run) =>
    run.points.map((point) => ({
      run: run.label,
      x: xAxis === 'step' ? point.step : point.epochFraction,
      loss: point.loss,
    })),
  );
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Training loss', subtitle: comparison.runs.map(describe) },
    width: 760,
    height: 420,
    background: 'white',
    padding: 12,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5, clip: true },
    encoding: {
      x: {
        field: 'x',
        type: 'quantitative',
        title: xAxis === 'step' ? 'step' : 'epoch',
        scale: { zero: true, nice: false },
      },
      y: { field: 'loss', type: 'quantitative', title: 'training loss (cross-entropy)', scale: { zero: true } },
      color: { field: 'run', type: 'nominal', title: 'run', sort: comparison.runs.map((run) => run.label ?? '') },
    },
    config: { font: 'sans-serif', legend: { orient: 'top-right', labelLimit: 280 } },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
