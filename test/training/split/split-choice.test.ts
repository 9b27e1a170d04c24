import { describe, expect, it } from 'vitest';
import { AdaptiveSplit } from '../../../src/training/split/split-choice.js';

/** The choices of `steps` steps when a split one takes `split(step)` ms per example and an alone one 0.15. */
function choices(split: (step: number) => number, steps: number): boolean[] {
  const policy = new AdaptiveSplit();
  return Array.from({ length: steps }, (_, step) => {
    const splitting = policy.wantsSplit();
    policy.record(splitting, splitting ? split(step) : 0.15);
    return splitting;
  });
}

const count = (made: boolean[], split: boolean) => made.filter((choice) => choice === split).length;

describe('the adaptive split', () => {
  it('keeps splitting while split steps are faster, trying a block alone now and then', () => {
    const made = choices(() => 0.1, 192);
    // One block alone to compare with, one more to look again.
    expect(count(made, false)).toBe(32);
    expect(made.slice(0, 16).every(Boolean)).toBe(true);
  });

  it('stops splitting when split steps are slower, trying a block split now and then', () => {
    const made = choices(() => 0.2, 192);
    expect(count(made, true)).toBe(32);
  });

  it('follows a change of load', () => {
    const made = choices((step) => (step < 160 ? 0.1 : 0.3), 320);
    expect(count(made.slice(64, 128), true)).toBe(64);
    expect(count(made.slice(192, 256), true)).toBe(0);
  });
});
