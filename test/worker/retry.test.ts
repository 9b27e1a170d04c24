import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { retrying } from '../../src/worker/retry.js';

describe('retrying', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('returns the first success, retrying failures with a doubling delay up to the maximum', async () => {
    const operation = vi
      .fn<() => Promise<string>>()
      .mockRejectedValueOnce(new Error('down'))
      .mockRejectedValueOnce(new Error('down'))
      .mockRejectedValueOnce(new Error('down'))
      .mockResolvedValue('written');
    const onRetry = vi.fn();
    const result = retrying(operation, { totalMs: 10_000, initialDelayMs: 100, maxDelayMs: 300, onRetry });
    await vi.advanceTimersByTimeAsync(99);
    expect(operation).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(operation).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(operation).toHaveBeenCalledTimes(3);
    // 400 is capped at 300.
    await vi.advanceTimersByTimeAsync(300);
    await expect(result).resolves.toBe('written');
    expect(onRetry.mock.calls.map(([, attempt]) => attempt as number)).toEqual([1, 2, 3]);
  });

  it('throws the last error once the next wait would pass the total time', async () => {
    let calls = 0;
    const operation = () => Promise.reject(new Error(`failure ${++calls}`));
    const result = retrying(operation, { totalMs: 500, initialDelayMs: 100 });
    const settled = expect(result).rejects.toThrow('failure 3');
    // Waits 100 and 200 ms; a third wait of 400 ms would end past 500 ms.
    await vi.advanceTimersByTimeAsync(1000);
    await settled;
    expect(calls).toBe(3);
  });

  it('does not retry when the total time is zero', async () => {
    const operation = vi.fn(() => Promise.reject(new Error('down')));
    await expect(retrying(operation, { totalMs: 0 })).rejects.toThrow('down');
    expect(operation).toHaveBeenCalledTimes(1);
  });
});
