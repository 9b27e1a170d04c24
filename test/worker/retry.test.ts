import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { retrying } from '../../src/worker/retry.js';

/** An operation that fails three times, then writes. */
const failingThrice = () =>
  vi
    .fn<() => Promise<string>>()
    .mockRejectedValueOnce(new Error('down'))
    .mockRejectedValueOnce(new Error('down'))
    .mockRejectedValueOnce(new Error('down'))
    .mockResolvedValue('written');

describe('retrying', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('returns the first success, retrying failures with a doubling ceiling up to the maximum', async () => {
    const operation = failingThrice();
    const onRetry = vi.fn();
    const result = retrying(operation, {
      totalMs: 10_000,
      initialDelayMs: 100,
      maxDelayMs: 300,
      onRetry,
      random: () => 1, // the top of every draw: the ceiling itself
    });
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
    const result = retrying(operation, { totalMs: 500, initialDelayMs: 100, random: () => 1 });
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

  it('draws each wait uniformly below its ceiling (full jitter), so workers do not retry in lockstep', async () => {
    const draws = [0.5, 0.25, 0];
    const operation = failingThrice();
    const result = retrying(operation, { totalMs: 10_000, initialDelayMs: 100, random: () => draws.shift() ?? 1 });
    // 0.5 of 100 ms, then 0.25 of 200 ms, then 0 of 400 ms.
    await vi.advanceTimersByTimeAsync(49);
    expect(operation).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(operation).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(49);
    expect(operation).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(operation).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(operation).toHaveBeenCalledTimes(4);
    await expect(result).resolves.toBe('written');
  });

  it('spreads the first retries of many callers over the whole first window by default', async () => {
    const firstWaits: number[] = [];
    const started = Date.now();
    const callers = Array.from({ length: 200 }, () => {
      let failed = false;
      return retrying(
        () => {
          if (!failed) {
            failed = true;
            return Promise.reject(new Error('down'));
          }
          firstWaits.push(Date.now() - started);
          return Promise.resolve();
        },
        { totalMs: 10_000, initialDelayMs: 1000 },
      );
    });
    await vi.advanceTimersByTimeAsync(1000);
    await Promise.all(callers);
    expect(new Set(firstWaits).size).toBeGreaterThan(50);
    expect(Math.min(...firstWaits)).toBeLessThan(250);
    expect(Math.max(...firstWaits)).toBeGreaterThan(750);
  });
});
