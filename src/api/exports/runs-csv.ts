import type { RunSummary } from '../jobs/schemas.js';
import { csvLine, type CsvValue } from './csv.js';

/** The columns of GET /jobs.csv, each read from a run as GET /jobs lists it. */
const columns: readonly [string, (run: RunSummary) => CsvValue][] = [
  ['id', (run) => run.id],
  ['name', (run) => run.name],
  ['status', (run) => run.status],
  ['dataset', (run) => run.dataset],
  ['tags', (run) => run.tags.join(';')],
  ['architecture', (run) => run.architecture],
  ['parameterCount', (run) => run.parameterCount],
  ['epochs', (run) => run.hyperparameters.epochs],
  ['learningRate', (run) => run.hyperparameters.learningRate],
  ['batchSize', (run) => run.hyperparameters.batchSize],
  ['optimizer', (run) => run.hyperparameters.optimizer],
  ['epochsCompleted', (run) => run.epochsCompleted],
  ['finalTestAccuracy', (run) => run.finalTestAccuracy],
  ['bestTestAccuracy', (run) => run.bestTestAccuracy],
  ['finalValidationAccuracy', (run) => run.finalValidationAccuracy],
  ['bestValidationAccuracy', (run) => run.bestValidationAccuracy],
  ['bestEpoch', (run) => run.bestEpoch],
  ['finalTestLoss', (run) => run.finalTestLoss],
  ['durationMs', (run) => run.durationMs],
  ['backend', (run) => run.backend],
  ['createdAt', (run) => run.createdAt],
  ['finishedAt', (run) => run.finishedAt],
];

/** Runs as CSV, a line each, written a page of runs at a time. Tags are joined by `;`. */
export async function* runsCsv(pages: AsyncIterable<readonly RunSummary[]>): AsyncGenerator<string> {
  yield columns.map(([name]) => name).join(',') + '\r\n';
  for await (const runs of pages) {
    if (runs.length > 0) yield runs.map((run) => csvLine(columns.map(([, read]) => read(run)))).join('');
  }
}
