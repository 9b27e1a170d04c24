import { describe, expect, it } from 'vitest';
import { isForbiddenAddress } from '../../src/domain/network-addresses.js';
import { retryDelayMs } from '../../src/domain/webhooks.js';

describe('webhook retry delays', () => {
  const policy = { baseMs: 10_000, maxMs: 3_600_000 };

  it('draws each delay between zero and an exponential bound (full jitter)', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(policy, attempt, 0.999999))).toEqual([
      9999, 19_999, 39_999, 79_999,
    ]);
    expect(retryDelayMs(policy, 3, 0)).toBe(0);
    expect(retryDelayMs(policy, 3, 0.5)).toBe(20_000);
  });

  it('never waits longer than the maximum, however many attempts were made', () => {
    expect(retryDelayMs(policy, 20, 0.999999)).toBe(3_599_996);
    expect(retryDelayMs(policy, 10_000, 0.5)).toBe(1_800_000);
  });
});

describe('addresses a webhook may not reach by default', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '0.0.0.0',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    '169.254.169.254',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '[::1]',
    'fe80::1',
    'fe80::1%eth0',
    'fc00::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:169.254.169.254',
    'localhost',
    'not an address',
  ])('refuses %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700::6810:84e5', '::ffff:8.8.8.8'])(
    'allows %s',
    (address) => {
      expect(isForbiddenAddress(address)).toBe(false);
    },
  );
});
