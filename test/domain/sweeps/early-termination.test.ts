import { describe, expect, it } from 'vitest';
import {
  ashaDecision,
  ashaRungs,
  medianDecision,
  replayTermination,
} from '../../../src/domain/sweeps/early-termination.js';
import type { AshaRule, MedianRule } from '../../../src/domain/sweeps/sweep-spec.js';

const asha: AshaRule = { type: 'asha', minEpochs: 1, reductionFactor: 3 };

describe('ASHA', () => {
  it('puts rungs at minEpochs × reductionFactor^k below the last epoch', () => {
    expect(ashaRungs(asha, 10)).toEqual([1, 3, 9]);
    expect(ashaRungs({ ...asha, minEpochs: 2, reductionFactor: 2 }, 9)).toEqual([2, 4, 8]);
    expect(ashaRungs(asha, 1)).toEqual([]);
  });

  it('keeps a run only in the top 1/reductionFactor (rounded up) of the runs at the rung', () => {
    expect(ashaDecision(asha, 'maximize', 1, 0.5, [])).toEqual({ stop: false });
    expect(ashaDecision(asha, 'maximize', 1, 0.9, [0.5, 0.6])).toEqual({ stop: false });
    expect(ashaDecision(asha, 'maximize', 1, 0.81, [0.5, 0.9])).toEqual({
      stop: true,
      reason: 'asha: rung at epoch 1, objective 0.81 not in top 1/3 (rank 2 of 3 runs)',
    });
    // Four runs: the top two go on.
    expect(ashaDecision(asha, 'maximize', 1, 0.81, [0.5, 0.9, 0.6]).stop).toBe(false);
    expect(ashaDecision(asha, 'minimize', 1, 0.3, [0.2, 0.4]).stop).toBe(true);
    expect(ashaDecision(asha, 'minimize', 1, 0.1, [0.2, 0.4]).stop).toBe(false);
  });

  it('stops exactly the runs it should on scripted curves', () => {
    // Accuracy per epoch for six runs of 4 epochs; rungs at epochs 1 and 3 (reduction factor 3).
    const curves = [
      [0.5, 0.6, 0.7, 0.75], // first at rung 1: goes on; at rung 3 first: goes on
      [0.6, 0.7, 0.8, 0.85], // best of 2 at rung 1: goes on; best of 2 at rung 3: goes on
      [0.4, 0.5, 0.6, 0.65], // rank 3 of 3 at rung 1: stopped at 1
      [0.7, 0.8, 0.9, 0.95], // rank 1 of 4: goes on; rank 1 of 3 at rung 3: goes on
      [0.55, 0.6, 0.65, 0.7], // rank 3 of 5 (kept 2): stopped at 1
      [0.65, 0.66, 0.67, 0.68], // rank 2 of 6 (kept 2): goes on; rank 4 of 4 at rung 3 (kept 2): stopped at 3
    ];
    expect(replayTermination(asha, 'maximize', curves, 4)).toEqual([undefined, undefined, 1, undefined, 1, 3]);
  });
});

describe('median stopping rule', () => {
  const rule: MedianRule = { type: 'median', minEpochs: 2 };

  it('stops a run whose best so far is worse than the median of the others running averages', () => {
    const others = [
      [0.5, 0.7],
      [0.6, 0.8],
      [0.2, 0.4],
    ];
    // Running averages at epoch 2: 0.6, 0.7, 0.3 -> median 0.6.
    expect(medianDecision(rule, 'maximize', 2, [0.4, 0.55], others)).toEqual({
      stop: true,
      reason: 'median: at epoch 2, best objective 0.55 worse than the median 0.6 of 3 other runs',
    });
    expect(medianDecision(rule, 'maximize', 2, [0.4, 0.6], others).stop).toBe(false);
    // Before minEpochs, and with no other run at the epoch, it never stops.
    expect(medianDecision(rule, 'maximize', 1, [0.01], others).stop).toBe(false);
    expect(medianDecision(rule, 'maximize', 2, [0.01, 0.01], [[0.9]]).stop).toBe(false);
    expect(medianDecision(rule, 'minimize', 2, [0.9, 0.8], [[0.3, 0.2]]).stop).toBe(true);
  });

  it('stops exactly the runs it should on scripted curves', () => {
    const curves = [
      [0.5, 0.6, 0.7], // first at each epoch: no peers yet
      [0.3, 0.4, 0.5], // epoch 2: best 0.4 < median 0.55 of run 0: stopped at 2
      [0.6, 0.7, 0.8], // epoch 2: best 0.7 > 0.55: on; epoch 3: 0.8 > 0.6
      // Epoch 2: peers' averages 0.55, 0.35 (run 1 reached epoch 2 before it stopped), 0.65 -> median 0.55,
      // not better than 0.55: on. Epoch 3: peers 0 (0.6) and 2 (0.7) -> median 0.65 > 0.6: stopped at 3.
      [0.5, 0.55, 0.6],
    ];
    expect(replayTermination(rule, 'maximize', curves, 3)).toEqual([undefined, 2, undefined, 3]);
  });
});
