import { unwrap, type Sweep, type SweepEvent, type SweepSpecInput } from '@trainer/client';
import type { Context } from '../context.js';
import { Interrupted, RunDidNotComplete } from '../exit-codes.js';
import { onInterrupt } from '../interrupt.js';
import { aboutFile } from '../refusals.js';
import { readSpecFile } from '../spec-file.js';
import { table } from '../table.js';

const objectiveText = (value: number | null | undefined) =>
  value === null || value === undefined ? '-' : value.toFixed(4);

/** The leaderboard of a sweep, best first (at most `top` runs). */
export function leaderboard(context: Context, sweep: Sweep, top = 10): string {
  const rows = sweep.leaderboard
    .slice(0, top)
    .map((entry) => [
      entry.rank,
      entry.jobId,
      entry.status,
      JSON.stringify(entry.parameters),
      objectiveText(entry.objective),
      entry.epoch ?? '-',
    ]);
  const counts = Object.entries(sweep.counts)
    .map(([status, runs]) => `${runs} ${status}`)
    .join(', ');
  return [
    `${context.output.style.bold(sweep.name)} ${sweep.status}: ${sweep.runCount} runs (${counts}); ${sweep.objective.goal} ${sweep.objective.metric}`,
    rows.length === 0 ? '' : table(context.output, ['rank', 'job', 'status', 'parameters', 'objective', 'epoch'], rows),
  ].join('\n');
}

function eventLine(event: SweepEvent): string {
  const run = event.jobId ? ` ${event.jobId}` : '';
  const parameters = event.parameters ? ` ${JSON.stringify(event.parameters)}` : '';
  switch (event.type) {
    case 'run-started':
      return `run ${event.index ?? ''} started${run}${parameters}`;
    case 'run-finished':
      return `run ${event.index ?? ''} ${event.status ?? 'finished'}${run} objective ${objectiveText(event.objective)}`;
    case 'run-stopped':
      return `run ${event.index ?? ''} stopped${run}: ${event.reason ?? ''}`;
    case 'new-best':
      return `new best${run}: ${objectiveText(event.objective)}${parameters}`;
    case 'sweep-finished':
      return `sweep ${event.status ?? 'finished'}`;
  }
}

/** Follows a sweep's events to its end; on a terminal, the leaderboard is shown again whenever a run ends. */
export async function followSweep(context: Context, sweepId: string): Promise<void> {
  const { trainer, output } = context;
  const refresh = async () => unwrap(trainer.api.GET('/sweeps/{id}', { params: { path: { id: sweepId } } }));
  let showing: Promise<void> = Promise.resolve();
  const followed = trainer.followSweep(sweepId, {
    backoff: { maxAttempts: 30 },
    onMessage(event) {
      output.result(event, eventLine(event));
      if (output.bars && (event.type === 'run-finished' || event.type === 'new-best')) {
        showing = showing.then(async () => output.say(leaderboard(context, await refresh(), 5))).catch(() => undefined);
      }
    },
  });
  let interrupted = false;
  const stop = onInterrupt(() => {
    interrupted = true;
    followed.close();
  });
  try {
    await followed.finished;
  } finally {
    stop();
  }
  await showing;
  if (interrupted) {
    output.warn(`detached; the sweep goes on. Attach again with: trainer sweep follow ${sweepId}`);
    throw new Interrupted();
  }
  const sweep = await refresh();
  output.result({ type: 'summary', sweep }, `\n${leaderboard(context, sweep)}`);
  if (sweep.status !== 'completed') throw new RunDidNotComplete(sweep.status);
}

/** `trainer sweep submit SPEC.json [--follow]`. */
export async function submitSweep(context: Context, file: string, options: { follow?: boolean }): Promise<void> {
  const spec = await readSpecFile(file);
  const sweep = await unwrap(context.trainer.api.POST('/sweeps', { body: spec as SweepSpecInput })).catch(
    (error: unknown) => {
      throw aboutFile(error, file);
    },
  );
  if (!options.follow) {
    context.output.result(sweep, sweep.id);
    return;
  }
  context.output.result({ type: 'submitted', sweep }, `submitted sweep ${sweep.id} (${sweep.runCount} runs)`);
  await followSweep(context, sweep.id);
}

/** `trainer sweep show ID`. */
export async function showSweep(context: Context, id: string): Promise<void> {
  const sweep = await unwrap(context.trainer.api.GET('/sweeps/{id}', { params: { path: { id } } }));
  context.output.result(sweep, leaderboard(context, sweep));
}
