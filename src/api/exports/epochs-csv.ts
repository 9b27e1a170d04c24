import { csvLine } from './csv.js';

const columns = [
  'epoch',
  'testAccuracy',
  'testLoss',
  'trainLoss',
  'validationAccuracy',
  'validationLoss',
  'durationMs',
  'samplesPerSecond',
] as const;

/** What an epoch's line is read from: a stored epoch, or EpochMetrics. */
type EpochColumns = { [Column in (typeof columns)[number]]?: number | null };

/** Every epoch's metrics as CSV, a line an epoch; the validation cells are empty without a split. */
export function epochsCsv(epochs: readonly EpochColumns[]): string {
  return (
    columns.join(',') + '\r\n' + epochs.map((epoch) => csvLine(columns.map((column) => epoch[column] ?? null))).join('')
  );
}
