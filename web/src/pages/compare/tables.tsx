import type { Comparison } from '@trainer/client';
import { StatusBadge } from '../../components/badges';
import { palette } from '../../components/line-chart';
import { Table, type Column } from '../../components/table';
import { accuracyColumn, countColumn, durationColumn, lossColumn, speedColumn } from '../../components/metric-columns';
import { Link } from '../../router';

type ComparedRun = Comparison['runs'][number];
type ComparedLayer = Comparison['architecture']['layers'][number];

type Hyperparameters = ComparedRun['hyperparameters'];
type HyperparameterValue = Hyperparameters[keyof Hyperparameters];

export const showValue = (value: HyperparameterValue) =>
  value === null || value === undefined ? 'server default' : String(value);

/** A run's value of a hyperparameter the comparison names. */
const valueOf = (hyperparameters: Hyperparameters, key: string): HyperparameterValue =>
  Object.entries(hyperparameters).find(([name]) => name === key)?.[1];

function runColumns(differing: string[]): Column<ComparedRun>[] {
  return [
    {
      key: 'run',
      header: 'Run',
      rowHeader: true,
      cell: (run, index) => (
        <>
          <span class="swatch" style={{ background: palette[index % palette.length] }} />
          <Link href={`/runs/${run.id}`}>{run.label}</Link>
        </>
      ),
    },
    { key: 'status', header: 'Status', cell: (run) => <StatusBadge status={run.status} /> },
    { key: 'architecture', header: 'Architecture', cellClass: 'mono', cell: (run) => run.architecture },
    countColumn('parameters', 'Parameters', (run) => run.parameterCount),
    ...differing.map((key): Column<ComparedRun> => ({
      key: `h-${key}`,
      header: key,
      cell: (run) => showValue(valueOf(run.hyperparameters, key)),
    })),
    accuracyColumn('final', 'Final acc.', (run) => run.finalTestAccuracy),
    accuracyColumn('best', 'Best acc.', (run) => run.bestTestAccuracy),
    lossColumn('loss', 'Final test loss', (run) => run.finalTestLoss),
    durationColumn('time', 'Training time', (run) => run.trainingMs),
    speedColumn('speed', 'Samples/s', (run) => run.samplesPerSecond),
  ];
}

/** The runs side by side: architecture, the hyperparameters that differ, accuracy and speed. */
export function RunsTable({ comparison, hidden }: { comparison: Comparison; hidden: Set<string> }) {
  const differing = comparison.differingHyperparameters;
  return (
    <Table
      class="compare-runs"
      caption={<>Runs compared{differing.length > 0 && `; hyperparameters that differ: ${differing.join(', ')}`}</>}
      columns={runColumns(differing)}
      rows={comparison.runs}
      rowKey={(run) => run.id}
      rowProps={(run) => ({ class: hidden.has(run.id) ? 'dimmed' : '' })}
    />
  );
}

/** The layers of the runs side by side, the rows that differ highlighted. */
export function LayerDiff({ comparison }: { comparison: Comparison }) {
  const labels = new Map(comparison.runs.map((run) => [run.id, run.label]));
  const columns: Column<ComparedLayer>[] = [
    {
      key: 'layer',
      header: 'Layer',
      rowHeader: true,
      cell: (layer) => (
        <>
          {layer.index + 1}
          {!layer.same && <span class="visually-hidden"> (differs)</span>}
        </>
      ),
    },
    ...comparison.architecture.runs.map((id, index): Column<ComparedLayer> => ({
      key: id,
      header: labels.get(id) ?? id.slice(0, 8),
      cellClass: 'mono',
      cell: (layer) => layer.byRun[index] ?? '—',
    })),
  ];
  return (
    <Table
      class="layer-diff"
      caption="Layers, side by side (differences highlighted)"
      columns={columns}
      rows={comparison.architecture.layers}
      rowKey={(layer) => layer.index}
      rowProps={(layer) => ({ class: layer.same ? '' : 'differs' })}
    />
  );
}
