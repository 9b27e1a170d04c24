import { randomUUID } from 'node:crypto';
import { datasets } from '../../src/domain/datasets.js';
import { parseJobSpec, type JobSpecInput } from '../../src/domain/job-spec.js';
import { specParameterCount, stepsPerEpoch, totalSteps } from '../../src/domain/model-shape.js';
import type { JobsRepository } from '../../src/store/jobs-repository.js';
import { smallSpec } from './specs.js';

/**
 * Writes a finished run straight into the store, as a worker would have: steps with a loss curve
 * that falls from `startLoss`, and per-epoch metrics. For tests of reading, listing and comparing.
 */
export async function insertFinishedRun(
  jobs: JobsRepository,
  overrides: Partial<JobSpecInput> = {},
  options: { accuracies?: number[]; startLoss?: number; status?: 'completed' | 'failed' | 'cancelled' } = {},
) {
  const parsed = parseJobSpec(smallSpec(overrides), { maxParameters: 1e9 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const spec = parsed.spec;
  const id = randomUUID();
  const mnist = datasets.mnist;
  await jobs.create({ id, spec, parameterCount: specParameterCount(spec, mnist), totalSteps: totalSteps(spec, mnist) });
  const owner = randomUUID();
  await jobs.claim(id, 'cpu', 60_000, owner);
  const perEpoch = stepsPerEpoch(spec, mnist);
  const startLoss = options.startLoss ?? 2.3;
  const steps = Array.from({ length: perEpoch * spec.epochs }, (_, index) => ({
    step: index + 1,
    epoch: Math.floor(index / perEpoch) + 1,
    loss: startLoss / (1 + index / perEpoch) + 0.01 * Math.sin(index),
  }));
  await jobs.recordSteps(id, steps);
  const accuracies = options.accuracies ?? Array.from({ length: spec.epochs }, (_, index) => 0.8 + index * 0.05);
  for (const [index, testAccuracy] of accuracies.entries()) {
    await jobs.recordEpoch(id, {
      epoch: index + 1,
      testAccuracy,
      testLoss: 1 - testAccuracy,
      trainLoss: 0.5,
      durationMs: 1000,
      samplesPerSecond: 2000,
    });
  }
  await jobs.finish(id, options.status ?? 'completed', undefined, owner);
  return { id, spec, steps };
}
