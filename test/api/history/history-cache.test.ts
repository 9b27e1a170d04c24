import { describe, expect, it, vi } from 'vitest';
import { createHistoryCache, historyBytes, type SampledHistory } from '../../../src/api/history/history-cache.js';
import { createHistoryWarmer } from '../../../src/api/history/history-warmer.js';
import { silentLogger } from '../../helpers/env.js';

const finished = (id: string) => ({ id, status: 'completed' as const });

/** A downsampled history of `count` steps. */
function sampled(count: number): SampledHistory {
  const steps = Array.from({ length: count }, (_, index) => ({ step: index + 1, epoch: 1, loss: 1 / (index + 1) }));
  return { steps, totalSteps: count * 10, downsampling: 'lttb' };
}

describe('history cache', () => {
  it('reads a finished job once per points and answers later asks from memory', async () => {
    const cache = createHistoryCache(1024 ** 2);
    const load = vi.fn(() => Promise.resolve(sampled(100)));
    const first = await cache.get(finished('a'), 100, load);
    expect(await cache.get(finished('a'), 100, load)).toBe(first);
    expect(load).toHaveBeenCalledTimes(1);
    await cache.get(finished('a'), 50, load);
    expect(load).toHaveBeenCalledTimes(2);
    expect(cache.has('a', 100) && cache.has('a', 50)).toBe(true);
  });

  it('keeps nothing of a job still queued or running', async () => {
    const cache = createHistoryCache(1024 ** 2);
    const load = vi.fn(() => Promise.resolve(sampled(10)));
    for (const status of ['queued', 'running'] as const) {
      await cache.get({ id: 'a', status }, 10, load);
      await cache.get({ id: 'a', status }, 10, load);
    }
    expect(load).toHaveBeenCalledTimes(4);
    expect(cache.has('a', 10)).toBe(false);
    expect(cache.bytes).toBe(0);
  });

  it('stays within its bytes, evicting the least recently used, and never keeps one bigger than all of it', async () => {
    const entry = historyBytes(sampled(100));
    const cache = createHistoryCache(entry * 2);
    await cache.get(finished('a'), 100, () => Promise.resolve(sampled(100)));
    await cache.get(finished('b'), 100, () => Promise.resolve(sampled(100)));
    await cache.get(finished('a'), 100, () => Promise.reject(new Error('a is cached')));
    await cache.get(finished('c'), 100, () => Promise.resolve(sampled(100)));
    expect([cache.has('a', 100), cache.has('b', 100), cache.has('c', 100)]).toEqual([true, false, true]);
    expect(cache.bytes).toBe(entry * 2);
    const huge = await cache.get(finished('d'), 1000, () => Promise.resolve(sampled(1000)));
    expect(huge.steps).toHaveLength(1000);
    expect(cache.has('d', 1000)).toBe(false);
    expect(cache.bytes).toBe(entry * 2);
  });

  it('keeps nothing with a bound of 0 bytes', async () => {
    const cache = createHistoryCache(0);
    await cache.get(finished('a'), 10, () => Promise.resolve(sampled(10)));
    expect(cache.has('a', 10)).toBe(false);
  });

  it('forgets every history of a deleted job, even one still being read', async () => {
    const cache = createHistoryCache(1024 ** 2);
    await cache.get(finished('a'), 10, () => Promise.resolve(sampled(10)));
    await cache.get(finished('b'), 10, () => Promise.resolve(sampled(10)));
    let release: (history: SampledHistory) => void = () => undefined;
    const reading = cache.get(finished('a'), 20, () => new Promise((resolve) => (release = resolve)));
    cache.drop('a');
    release(sampled(20));
    await reading;
    expect([cache.has('a', 10), cache.has('a', 20), cache.has('b', 10)]).toEqual([false, false, true]);
  });

  it('shares one read between asks that arrive while it runs, and keeps no failed read', async () => {
    const cache = createHistoryCache(1024 ** 2);
    const load = vi.fn(() => new Promise<SampledHistory>((resolve) => setTimeout(() => resolve(sampled(10)), 10)));
    const [one, two] = await Promise.all([cache.get(finished('a'), 10, load), cache.get(finished('a'), 10, load)]);
    expect(one).toBe(two);
    expect(load).toHaveBeenCalledTimes(1);
    await expect(cache.get(finished('b'), 10, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(cache.has('b', 10)).toBe(false);
  });
});

describe('history warmer', () => {
  it('warms jobs that reached a final status, one at a time, and goes on after a failure', async () => {
    const warmed: string[] = [];
    let running = 0;
    let most = 0;
    const warmer = createHistoryWarmer(async (jobId) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      if (jobId === 'broken') throw new Error('database down');
      warmed.push(jobId);
    }, silentLogger());
    warmer.onEvent({ type: 'status', jobId: 'a', status: 'completed', error: null });
    warmer.onEvent({ type: 'status', jobId: 'running', status: 'running', error: null });
    warmer.onEvent({ type: 'status', jobId: 'broken', status: 'failed', error: 'x' });
    warmer.onEvent({ type: 'steps', jobId: 'steps', steps: [] });
    warmer.onEvent({ type: 'status', jobId: 'c', status: 'cancelled', error: null });
    await warmer.idle();
    expect(warmed).toEqual(['a', 'c']);
    expect(most).toBe(1);
  });
});
