import { describe, expect, it, vi } from 'vitest';
import type { StepRecord } from '../../src/store/jobs-repository.js';
import { createResultWriter } from '../../src/worker/result-writer.js';
import { createStepWriter } from '../../src/worker/step-writer.js';

const steps = (from: number, to: number): StepRecord[] =>
  Array.from({ length: to - from + 1 }, (_, index) => ({ step: from + index, epoch: 1, loss: 1 }));

function setup(options: { failSteps?: boolean; abandoned?: () => boolean } = {}) {
  const writes: string[] = [];
  const recordSteps = vi.fn(async (_id: string, batch: readonly StepRecord[]) => {
    // Slow enough that a write queued after it would overtake it, if the chain did not order them.
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (options.failSteps) throw new Error('connection refused');
    writes.push(`steps ${batch[0]?.step}-${batch.at(-1)?.step}`);
  });
  const onFailure = vi.fn();
  const writer = createStepWriter({ recordSteps }, 'job', { flushMs: 60_000, flushCount: 1000 });
  const results = createResultWriter(writer, { abandoned: options.abandoned ?? (() => false), onFailure });
  const write = (label: string) => () => {
    writes.push(label);
    return Promise.resolve();
  };
  return { writes, results, write, onFailure, recordSteps };
}

describe('the result write chain', () => {
  it('writes an epoch and a checkpoint only after the steps before them, in the order they came', async () => {
    const { writes, results, write } = setup();
    results.addSteps(steps(1, 10));
    results.afterSteps(write('epoch 1'));
    results.addSteps(steps(11, 15));
    results.afterSteps(write('checkpoint 15'));
    results.addSteps(steps(16, 18));
    expect(await results.close()).toBeUndefined();
    expect(writes).toEqual(['steps 1-10', 'epoch 1', 'steps 11-15', 'checkpoint 15', 'steps 16-18']);
  });

  it('stops writing after the first failure and reports it', async () => {
    const { writes, results, write, onFailure } = setup();
    results.addSteps(steps(1, 2));
    results.afterSteps(() => Promise.reject(new Error('epoch write failed')));
    results.afterSteps(write('checkpoint 2'));
    const failure = await results.close();
    expect(failure).toEqual(new Error('epoch write failed'));
    expect(onFailure).toHaveBeenCalledTimes(1);
    expect(writes).toEqual(['steps 1-2']);
  });

  it('does not write an epoch whose steps could not be written', async () => {
    const { writes, results, write } = setup({ failSteps: true });
    results.addSteps(steps(1, 2));
    results.afterSteps(write('epoch 1'));
    expect(await results.close()).toEqual(new Error('connection refused'));
    expect(writes).toEqual([]);
  });

  it('writes nothing once the attempt is abandoned', async () => {
    let abandoned = false;
    const { writes, results, write, recordSteps } = setup({ abandoned: () => abandoned });
    abandoned = true;
    results.addSteps(steps(1, 2));
    results.afterSteps(write('epoch 1'));
    await results.settled();
    expect(writes).toEqual([]);
    expect(recordSteps).not.toHaveBeenCalled();
  });
});
