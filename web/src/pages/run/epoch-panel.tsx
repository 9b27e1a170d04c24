import type { EpochMetrics } from '@trainer/client';
import { useMemo } from 'preact/hooks';
import { LineChart } from '../../components/line-chart';
import { accuracyColumn, durationColumn, lossColumn, speedColumn } from '../../components/metric-columns';
import { Table, type Column } from '../../components/table';

const columns: Column<EpochMetrics>[] = [
  { key: 'epoch', header: 'Epoch', cell: (epoch) => epoch.epoch },
  accuracyColumn('accuracy', 'Test accuracy', (epoch) => epoch.testAccuracy),
  lossColumn('test-loss', 'Test loss', (epoch) => epoch.testLoss),
  lossColumn('train-loss', 'Train loss', (epoch) => epoch.trainLoss),
  durationColumn('duration', 'Duration', (epoch) => epoch.durationMs),
  speedColumn('speed', 'Samples/s', (epoch) => epoch.samplesPerSecond),
];

function EpochChart({ epochs }: { epochs: EpochMetrics[] }) {
  const data = useMemo(
    () =>
      [
        epochs.map((epoch) => epoch.epoch),
        epochs.map((epoch) => epoch.testAccuracy),
        epochs.map((epoch) => epoch.testLoss),
        epochs.map((epoch) => epoch.trainLoss),
      ] as [number[], number[], number[], number[]],
    [epochs],
  );
  return (
    <LineChart
      title="Test accuracy, test loss and training loss per epoch; the table below has the values"
      xLabel="epoch"
      integerX
      yLabel="loss"
      series={[
        { label: 'test accuracy', stroke: '#2ca02c', width: 2, points: true },
        { label: 'test loss', stroke: '#d62728', width: 2, points: true },
        { label: 'train loss', stroke: '#ff7f0e', width: 2, dash: [6, 4], points: true },
      ]}
      rightAxis={{
        label: 'accuracy',
        series: ['test accuracy'],
        format: (value) => `${Math.round(value * 1000) / 10}%`,
      }}
      data={data}
      height={220}
    />
  );
}

/** Each finished epoch's metrics, as a chart and a table. */
export function EpochPanel({ epochs }: { epochs: EpochMetrics[] }) {
  return (
    <section aria-labelledby="epochs-heading">
      <h2 id="epochs-heading">Epochs</h2>
      {epochs.length > 0 && <EpochChart epochs={epochs} />}
      <Table
        class="epochs"
        hidden={epochs.length === 0}
        columns={columns}
        rows={epochs}
        rowKey={(epoch) => epoch.epoch}
      />
      {epochs.length === 0 && <p class="muted">No epoch has finished yet.</p>}
    </section>
  );
}
