import { describe, expect, it } from 'vitest';
import { halvePoints, type CurveColumns } from '../../web/src/thin-points.js';

function curve(losses: number[]): CurveColumns {
  return {
    steps: losses.map((_, index) => index + 1),
    losses: [...losses],
    smoothed: losses.map((loss) => loss / 2),
  };
}

describe('halvePoints', () => {
  it('keeps the lowest and highest loss of each run of four, in step order, with their steps and smoothed values', () => {
    const thinned = curve([5, 9, 1, 7, 4, 4, 8, 2, 6]);
    halvePoints(thinned);
    expect(thinned.steps).toEqual([2, 3, 7, 8, 9]);
    expect(thinned.losses).toEqual([9, 1, 8, 2, 6]);
    expect(thinned.smoothed).toEqual([4.5, 0.5, 4, 1, 3]);
  });

  it('always keeps the last point, even when it is neither low nor high', () => {
    const thinned = curve([1, 2, 3, 4, 5, 2.5]);
    halvePoints(thinned);
    expect(thinned.steps.at(-1)).toBe(6);
    expect(thinned.losses.at(-1)).toBe(2.5);
  });

  it('keeps the ends of a flat run and of a run opening on NaN', () => {
    const thinned = curve([3, 3, 3, 3, NaN, 1, 2, 0.5, 7]);
    halvePoints(thinned);
    expect(thinned.steps).toEqual([1, 4, 5, 8, 9]);
  });

  it('lets a single spike survive halving after halving', () => {
    const losses = Array.from({ length: 4096 }, (_, index) => (index === 1234 ? 50 : 1 + (index % 7) / 100));
    const thinned = curve(losses);
    while (thinned.steps.length > 64) halvePoints(thinned);
    expect(thinned.steps.length).toBeLessThanOrEqual(64);
    expect(thinned.losses).toContain(50);
    expect(thinned.steps[thinned.losses.indexOf(50)]).toBe(1235);
    expect(thinned.steps.at(-1)).toBe(4096);
  });
});
