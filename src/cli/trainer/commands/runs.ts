import { unwrap, type JobStatus } from '@trainer/client';
import { writeFile } from 'node:fs/promises';
import type { Context } from '../context.js';
import { count, duration, lossText, percent } from '../format.js';
import { table } from '../table.js';

/** GET /jobs's filters, sort and page as `trainer runs` takes them. */
export interface RunsOptions {
  status?: string;
  dataset?: string;
  name?: string;
  tag?: string;
  owner?: string;
  sort?: string;
  order?: string;
  limit?: string;
  cursor?: string;
}

type RunsQuery = { sort?: 'created'; order?: 'asc' | 'desc' } & Omit<RunsOptions, 'sort' | 'order'>;

/** `trainer runs`: a page of runs as a table, newest first unless sorted otherwise. */
export async function runs({ trainer, output }: Context, options: RunsOptions): Promise<void> {
  // The server validates every parameter and names a bad one; the client's types are its enums.
  const query = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as RunsQuery;
  const page = await unwrap(trainer.api.GET('/jobs', { params: { query } }));
  const rows = page.runs.map((run) => [
    run.id,
    run.name ?? '',
    run.status satisfies JobStatus,
    run.dataset,
    run.architecture,
    `${run.epochsCompleted}/${run.hyperparameters.epochs}`,
    percent(run.finalTestAccuracy),
    percent(run.bestTestAccuracy),
    lossText(run.finalTestLoss),
    duration(run.durationMs),
    run.createdAt.slice(0, 19).replace('T', ' '),
  ]);
  const more = page.nextCursor ? `\nmore: trainer runs --cursor ${page.nextCursor} (same filters and sort)` : '';
  output.result(
    page,
    page.runs.length === 0
      ? 'no runs'
      : table(
          output,
          [
            'id',
            'name',
            'status',
            'dataset',
            'architecture',
            'epochs',
            'final acc',
            'best acc',
            'test loss',
            'duration',
            'created',
          ],
          rows,
        ) + more,
  );
}

/** `trainer compare ID ID… [--svg FILE]`: the runs side by side, and their loss curves drawn. */
export async function compare({ trainer, output }: Context, ids: string[], options: { svg?: string }): Promise<void> {
  const query = { ids: ids.join(',') };
  const comparison = await unwrap(trainer.api.GET('/compare', { params: { query } }));
  const rows = comparison.runs.map((run) => [
    run.label,
    count(run.parameterCount),
    percent(run.finalTestAccuracy),
    percent(run.bestTestAccuracy),
    lossText(run.finalTestLoss),
    duration(run.trainingMs),
    run.samplesPerSecond === null ? '-' : count(Math.round(run.samplesPerSecond)),
  ]);
  if (options.svg !== undefined) {
    const svg = await unwrap(trainer.api.GET('/compare.svg', { params: { query }, parseAs: 'text' }));
    await writeFile(options.svg, svg);
  }
  const differing = comparison.differingHyperparameters.join(', ') || 'none';
  output.result(
    comparison,
    [
      table(output, ['run', 'parameters', 'final acc', 'best acc', 'test loss', 'training', 'samples/s'], rows),
      `hyperparameters that differ: ${differing}`,
      ...(options.svg === undefined ? [] : [`loss curves written to ${options.svg}`]),
    ].join('\n'),
  );
}
