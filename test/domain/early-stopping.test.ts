import { describe, expect, it } from 'vitest';
import { bestEpochOf, earlyStoppingDecision, type EarlyStoppingRule } from '../../src/domain/early-stopping.js';
import type { EpochMetrics } from '../../src/domain/metrics.js';

/** Epochs 1.. with the given validation losses (and accuracies 1 - loss). */
function curve(losses: number[], testAccuracies?: number[]): EpochMetrics[] {
  return losses.map((loss, index) => ({
    epoch: index + 1,
    testAccuracy: testAccuracies?.[index] ?? 0.5,
    testLoss: 1,
    trainLoss: 1,
    durationMs: 1,
    samplesPerSecond: 1,
    validationLoss: loss,
    validationAccuracy: 1 - loss,
  }));
}

const minLoss: EarlyStoppingRule = { metric: 'validationLoss', mode: 'min', patience: 2, minDelta: 0 };

/** The first epoch after which the rule stops training, replaying the curve epoch by epoch. */
function stopEpoch(rule: EarlyStoppingRule, epochs: EpochMetrics[]): number | undefined {
  for (let count = 1; count <= epochs.length; count++) {
    const decision = earlyStoppingDecision(rule, epochs.slice(0, count));
    if (decision) return decision.epoch;
  }
  return undefined;
}

describe('early stopping', () => {
  it('never stops a curve that keeps improving', () => {
    expect(stopEpoch(minLoss, curve([0.9, 0.8, 0.7, 0.6, 0.5]))).toBeUndefined();
  });

  it('stops after `patience` epochs without a new best, counting from the best epoch', () => {
    // Best at epoch 2; epochs 3 and 4 are worse: stop after epoch 4.
    expect(stopEpoch(minLoss, curve([0.9, 0.5, 0.6, 0.55, 0.4]))).toBe(4);
    expect(stopEpoch({ ...minLoss, patience: 3 }, curve([0.9, 0.5, 0.6, 0.55, 0.7]))).toBe(5);
    expect(stopEpoch({ ...minLoss, patience: 1 }, curve([0.9, 0.5, 0.6]))).toBe(3);
  });

  it('resets the patience on every new best', () => {
    expect(stopEpoch(minLoss, curve([0.9, 0.95, 0.8, 0.85, 0.7, 0.75, 0.76]))).toBe(7);
  });

  it('counts an improvement only when it beats the best by more than minDelta', () => {
    const epochs = curve([0.5, 0.495, 0.49, 0.489]);
    expect(stopEpoch(minLoss, epochs)).toBeUndefined();
    expect(stopEpoch({ ...minLoss, minDelta: 0.02 }, epochs)).toBe(3);
  });

  it('watches a metric to maximise in max mode', () => {
    const rule: EarlyStoppingRule = { metric: 'testAccuracy', mode: 'max', patience: 2, minDelta: 0 };
    expect(stopEpoch(rule, curve([0, 0, 0, 0, 0], [0.8, 0.9, 0.9, 0.85, 0.95]))).toBe(4);
  });

  it('says which metric stopped it, after how many epochs, and the best', () => {
    const decision = earlyStoppingDecision(minLoss, curve([0.9, 0.5, 0.6, 0.55]));
    expect(decision).toEqual({
      epoch: 4,
      reason: 'early stopping: validationLoss did not fall for 2 epochs (best 0.5000 at epoch 2)',
    });
  });

  it('chooses the best epoch by validation accuracy when there is one, else by test accuracy', () => {
    const validated = curve([0.3, 0.2, 0.25], [0.9, 0.8, 0.95]);
    expect(bestEpochOf(validated)?.epoch).toBe(2);
    const unvalidated = validated.map(({ validationAccuracy: _a, validationLoss: _l, ...rest }) => rest);
    expect(bestEpochOf(unvalidated)?.epoch).toBe(3);
  });
});
