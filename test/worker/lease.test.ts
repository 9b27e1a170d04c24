import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JobLease } from '../../src/worker/lease.js';

describe('JobLease', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('renews every interval from start until stop', async () => {
    const renew = vi.fn(() => Promise.resolve(true));
    const lease = new JobLease(renew, { renewEveryMs: 100, onLost: vi.fn() });
    lease.start();
    await vi.advanceTimersByTimeAsync(350);
    expect(renew).toHaveBeenCalledTimes(3);
    lease.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(renew).toHaveBeenCalledTimes(3);
    expect(lease.lost).toBe(false);
  });

  it('reports a lost lease once and stops renewing it', async () => {
    const renew = vi.fn().mockResolvedValueOnce(true).mockResolvedValue(false);
    const onLost = vi.fn();
    const lease = new JobLease(renew, { renewEveryMs: 100, onLost });
    lease.start();
    await vi.advanceTimersByTimeAsync(100);
    expect(lease.lost).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(lease.lost).toBe(true);
    expect(onLost).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(renew).toHaveBeenCalledTimes(2);
    expect(onLost).toHaveBeenCalledTimes(1);
  });

  it('keeps renewing through a failed renewal, which is not a loss', async () => {
    const renew = vi.fn().mockRejectedValueOnce(new Error('connection refused')).mockResolvedValue(true);
    const onLost = vi.fn();
    const onRenewError = vi.fn();
    const lease = new JobLease(renew, { renewEveryMs: 100, onLost, onRenewError });
    lease.start();
    await vi.advanceTimersByTimeAsync(300);
    expect(onRenewError).toHaveBeenCalledWith(expect.objectContaining({ message: 'connection refused' }));
    expect(renew).toHaveBeenCalledTimes(3);
    expect(onLost).not.toHaveBeenCalled();
    lease.stop();
  });

  it('ignores a renewal that answers "lost" after it was stopped', async () => {
    let answer: (held: boolean) => void = () => undefined;
    const renew = vi.fn(() => new Promise<boolean>((resolve) => (answer = resolve)));
    const onLost = vi.fn();
    const lease = new JobLease(renew, { renewEveryMs: 100, onLost });
    lease.start();
    await vi.advanceTimersByTimeAsync(100);
    lease.stop();
    answer(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(onLost).not.toHaveBeenCalled();
    expect(lease.lost).toBe(false);
  });
});
