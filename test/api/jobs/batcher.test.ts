import { describe, expect, it } from 'vitest';
import { createBatcher } from '../../../src/api/jobs/batcher.js';

function deferred() {
  let release = () => {};
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

describe('createBatcher', () => {
  it('flushes a lone call at once and gathers the calls made meanwhile into the next flush', async () => {
    const flushes: number[][] = [];
    const gate = deferred();
    const double = createBatcher(
      async (items: number[]) => {
        flushes.push(items);
        if (flushes.length === 1) await gate.promise;
        return items.map((item) => item * 2);
      },
      { concurrency: 1 },
    );
    const first = double(1);
    const rest = [double(2), double(3), double(4)];
    expect(flushes).toEqual([[1]]);
    gate.release();
    expect(await Promise.all([first, ...rest])).toEqual([2, 4, 6, 8]);
    expect(flushes).toEqual([[1], [2, 3, 4]]);
  });

  it('keeps batches within maxBatch and fails every call of a failed flush, and only those', async () => {
    const flushes: string[][] = [];
    const gate = deferred();
    const check = createBatcher(
      async (items: string[]) => {
        flushes.push(items);
        if (flushes.length === 1) await gate.promise;
        if (items.includes('bad')) throw new Error('refused');
        return items;
      },
      { concurrency: 1, maxBatch: 2 },
    );
    const calls = ['a', 'b', 'bad', 'c', 'd'].map((item) => check(item).catch((error: Error) => error.message));
    gate.release();
    expect(await Promise.all(calls)).toEqual(['a', 'refused', 'refused', 'c', 'd']);
    expect(flushes).toEqual([['a'], ['b', 'bad'], ['c', 'd']]);
  });
});
