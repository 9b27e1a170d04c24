import { unwrap, type Job, type JobSpecInput } from '@trainer/client';
import type { Context } from '../context.js';
import { followJob, type FollowOptions } from '../follow-job.js';
import { count, duration, lossText, percent } from '../format.js';
import { summaryText } from '../job-display.js';
import { aboutFile } from '../refusals.js';
import { readSpecFile } from '../spec-file.js';
import { table } from '../table.js';

const byId = (id: string) => ({ params: { path: { id } } });

/** `trainer submit SPEC.json [--follow]`: prints the new job's id; follows it to its end when asked. */
export async function submit(
  context: Context,
  file: string,
  options: FollowOptions & { follow?: boolean },
): Promise<void> {
  const spec = await readSpecFile(file);
  // The server checks every field of the spec against its own limits; its issues come back by field.
  const job = await unwrap(context.trainer.api.POST('/jobs', { body: spec as JobSpecInput })).catch(
    (error: unknown) => {
      throw aboutFile(error, file);
    },
  );
  const { output } = context;
  if (!options.follow) {
    output.result(job, job.id);
    return;
  }
  output.result(
    { type: 'submitted', job },
    `submitted ${output.style.bold(job.id)} (${job.name ?? 'unnamed'}, ${count(job.parameterCount)} parameters)`,
  );
  await followJob(context, job, options);
}

/** `trainer follow ID`: attaches to a running or finished job, replaying what it has recorded. */
export async function follow(context: Context, id: string, options: FollowOptions): Promise<void> {
  const job = await unwrap(context.trainer.api.GET('/jobs/{id}', byId(id)));
  await followJob(context, job, options);
}

/** `trainer show ID`: the job, its summary and a line per epoch. */
export async function show({ trainer, output }: Context, id: string): Promise<void> {
  const job: Job = await unwrap(trainer.api.GET('/jobs/{id}', byId(id)));
  const epochs = job.metrics.epochs.map((epoch) => [
    epoch.epoch,
    percent(epoch.testAccuracy),
    lossText(epoch.testLoss),
    lossText(epoch.trainLoss),
    percent(epoch.validationAccuracy),
    count(Math.round(epoch.samplesPerSecond)),
    duration(epoch.durationMs),
  ]);
  const text = [
    summaryText(job, output),
    `  dataset          ${job.dataset}; ${job.spec.optimizer}, learning rate ${job.spec.learningRate}, batch ${job.spec.batchSize}`,
    `  created          ${job.createdAt}`,
    ...(epochs.length === 0
      ? []
      : [table(output, ['epoch', 'test acc', 'test loss', 'train loss', 'val acc', 'samples/s', 'time'], epochs)]),
  ].join('\n');
  output.result(job, text);
}

/** `trainer cancel ID`. */
export async function cancel({ trainer, output }: Context, id: string): Promise<void> {
  const job = await unwrap(trainer.api.POST('/jobs/{id}/cancel', byId(id)));
  output.result(
    job,
    job.status === 'cancelled'
      ? `cancelled ${job.id}`
      : `cancel requested for ${job.id}; the worker stops it between batches`,
  );
}

/** `trainer delete ID`: an ended job and all it holds. */
export async function remove({ trainer, output }: Context, id: string): Promise<void> {
  await unwrap(trainer.api.DELETE('/jobs/{id}', byId(id)));
  output.result({ deleted: id }, `deleted ${id}`);
}
