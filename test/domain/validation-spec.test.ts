import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../src/domain/job-spec.js';
import { smallSpec } from '../helpers/specs.js';

const limits = { maxParameters: 20_000_000 };

function issues(overrides: Record<string, unknown>) {
  const result = parseJobSpec({ ...smallSpec(), ...overrides }, limits);
  return result.ok ? [] : result.issues;
}

describe('job spec: validation split and early stopping', () => {
  it('accepts a validation split by count or by fraction, and an early-stopping rule with minDelta defaulting to 0', () => {
    expect(issues({ validationSamples: 200 })).toEqual([]);
    const parsed = parseJobSpec(
      {
        ...smallSpec(),
        validationFraction: 0.1,
        earlyStopping: { metric: 'validationLoss', mode: 'min', patience: 2 },
      },
      limits,
    );
    expect(parsed.ok && parsed.spec.earlyStopping).toEqual({
      metric: 'validationLoss',
      mode: 'min',
      patience: 2,
      minDelta: 0,
    });
  });

  it('rejects both ways of sizing the split, a split as large as the pool, and fractions outside (0, 1)', () => {
    expect(issues({ validationSamples: 10, validationFraction: 0.1 })).toContainEqual({
      path: 'validationFraction',
      message: 'give validationSamples or validationFraction, not both',
    });
    expect(issues({ validationSamples: 2000 })).toContainEqual({
      path: 'validationSamples',
      message: 'must be less than the 2000 training examples it is held out of',
    });
    expect(issues({ validationFraction: 1 }).map((issue) => issue.path)).toEqual(['validationFraction']);
  });

  it('rejects early stopping on a validation metric without a split, an unknown metric, and patience 0', () => {
    expect(issues({ earlyStopping: { metric: 'validationAccuracy', mode: 'max', patience: 2 } })).toContainEqual({
      path: 'earlyStopping.metric',
      message: 'validationAccuracy needs a validation split: give validationSamples or validationFraction',
    });
    expect(issues({ earlyStopping: { metric: 'f1', mode: 'max', patience: 2 } }).map((issue) => issue.path)).toEqual([
      'earlyStopping.metric',
    ]);
    expect(issues({ earlyStopping: { metric: 'testLoss', mode: 'min', patience: 0 } }).map((i) => i.path)).toEqual([
      'earlyStopping.patience',
    ]);
  });
});
