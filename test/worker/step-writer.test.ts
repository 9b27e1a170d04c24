import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StepRecord } from '../../src/store/jobs-repository.js';
import { createStepWriter } from '../../src/worker/step-writer.js';

const steps = (from: number, to: number): StepRecord[] =>
  Array.from({ length: to - from + 1 }, (_, index) => ({ step: from + index, epoch: 1, loss: 1 }));
const range = (batch: readonly StepRecord[]) => `${batch[0]?.step}-${batch.at(-1)?.step}`;

describe('the step writer', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes a batch once it holds flushCount steps, and the rest after flushMs', async () => {
    const written: string[] = [];
    const recordSteps = vi.fn((_id: string, batch: readonly StepRecord[]) => {
      written.push(range(batch));
      return Promise.resolve();
    });
    const writer = createStepWriter({ recordSteps }, 'job', { flushMs: 250, flushCount: 10 });
    writer.add(steps(1, 6));
    writer.add(steps(7, 12));
    await vi.advanceTimersByTimeAsync(0);
    expect(written).toEqual(['1-12']);
    writer.add(steps(13, 15));
    await vi.advanceTimersByTimeAsync(249);
    expect(written).toEqual(['1-12']);
    await vi.advanceTimersByTimeAsync(1);
    expect(written).toEqual(['1-12', '13-15']);
    await writer.close();
  });

  it('writes one batch at a time, in order, and announces each only once committed', async () => {
    const pending: (() => void)[] = [];
    const recordSteps = vi.fn(() => new Promise<void>((resolve) => pending.push(resolve)));
    const announced: string[] = [];
    const writer = createStepWriter({ recordSteps }, 'job', { flushMs: 250, flushCount: 2 }, (batch) =>
      announced.push(range(batch)),
    );
    writer.add(steps(1, 2));
    writer.add(steps(3, 4));
    await vi.advanceTimersByTimeAsync(0);
    expect(recordSteps).toHaveBeenCalledTimes(1);
    expect(announced).toEqual([]);
    pending.shift()?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(announced).toEqual(['1-2']);
    expect(recordSteps).toHaveBeenCalledTimes(2);
    pending.shift()?.();
    await writer.close();
    expect(announced).toEqual(['1-2', '3-4']);
  });

  it('after a write fails, writes nothing more, reports the failure once and throws it on close', async () => {
    const recordSteps = vi.fn().mockRejectedValueOnce(new Error('disk full')).mockResolvedValue(undefined);
    const onFailure = vi.fn();
    const writer = createStepWriter({ recordSteps }, 'job', { flushMs: 250, flushCount: 1 }, undefined, onFailure);
    writer.add(steps(1, 1));
    writer.add(steps(2, 2));
    await expect(writer.close()).rejects.toThrow('disk full');
    expect(recordSteps).toHaveBeenCalledTimes(1);
    expect(onFailure).toHaveBeenCalledTimes(1);
  });

  it('close writes what is buffered at once', async () => {
    const recordSteps = vi.fn(() => Promise.resolve());
    const writer = createStepWriter({ recordSteps }, 'job', { flushMs: 60_000, flushCount: 1000 });
    writer.add(steps(1, 3));
    await writer.close();
    expect(recordSteps).toHaveBeenCalledWith('job', steps(1, 3));
  });
});
