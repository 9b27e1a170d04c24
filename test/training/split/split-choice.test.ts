import { describe, expect, it } from 'vitest';
import { AdaptiveSplit } from '../../../src/training/split/split-choice.js';

/** The choices of `steps` steps when a split one takes `split` ms per example and an alone one `alone`. */
function choices(split: number, alone: number, steps = 64): boolean[] {
  const policy = new AdaptiveSplit();
  return Array.from({ length: steps }, () => {
    const splitting = policy.wantsSplit();
    policy.record(splitting, splitting ? split : alone);
    return splitting;
  });
}

describe('the adaptive split', () => {
  it('keeps splitting while split steps are faster, trying alone now and then', () => {
    const made = choices(0.1, 0.15);
    const alone = made.filter((split) => !split).length;
    expect(alone).toBeGreaterThanOrEqual(3);
    expect(alone).toBeLessThanOrEqual(3 + 64 / 16);
  });

  it('stops splitting when split steps are slower, trying split now and then', () => {
    const made = choices(0.2, 0.15);
    const split = made.filter(Boolean).length;
    expect(split).toBeGreaterThanOrEqual(3);
    expect(split).toBeLessThanOrEqual(3 + 64 / 16);
  });

  it('follows a change of load', () => {
    const policy = new AdaptiveSplit();
    let splitMs = 0.1;
    const made: boolean[] = [];
    for (let step = 0; step < 160; step++) {
      if (step === 80) splitMs = 0.3;
      const splitting = policy.wantsSplit();
      policy.record(splitting, splitting ? splitMs : 0.15);
      made.push(splitting);
    }
    expect(made.slice(40, 80).filter(Boolean).length).toBeGreaterThan(30);
    expect(made.slice(120).filter(Boolean).length).toBeLessThan(10);
  });
});
