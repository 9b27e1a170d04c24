import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lttb, lttbRuns } from '../../src/history/downsample.js';
import { runSteps, type StepLoss, type StepRun } from '../../src/domain/metrics.js';

const series = (length: number, y: (x: number) => number) => Array.from({ length }, (_, x) => ({ x, y: y(x) }));
const sample = (points: { x: number; y: number }[], target: number) =>
  lttb(
    points,
    target,
    (p) => p.x,
    (p) => p.y,
  );

// A series read a page at a time, as the store reads a history.
async function* pagesOf<T>(points: readonly T[], size: number): AsyncGenerator<T[]> {
  const pages = Array.from({ length: Math.ceil(points.length / size) }, (_, index) =>
    points.slice(index * size, (index + 1) * size),
  );
  // Each page arrives a turn later, as from the database.
  for (const page of pages) yield await Promise.resolve(page);
}

describe('LTTB downsampling', () => {
  it('returns the requested number of points, keeping the first and the last', () => {
    const points = series(10_000, (x) => Math.exp(-x / 2000));
    for (const target of [2, 3, 10, 137, 500]) {
      const sampled = sample(points, target);
      expect(sampled).toHaveLength(target);
      expect(sampled[0]).toBe(points[0]);
      expect(sampled.at(-1)).toBe(points.at(-1));
    }
  });

  it('keeps points in order and returns short series whole', () => {
    const points = series(1000, (x) => Math.sin(x / 10));
    const sampled = sample(points, 50);
    expect(sampled.map((p) => p.x)).toEqual([...sampled.map((p) => p.x)].sort((a, b) => a - b));
    expect(sample(points.slice(0, 40), 50)).toEqual(points.slice(0, 40));
  });

  it('keeps a lone spike that uniform striding would miss', () => {
    const points = series(5000, (x) => (x === 2501 ? 10 : 1));
    expect(sample(points, 100).some((p) => p.y === 10)).toBe(true);
    const strided = points.filter((_, index) => index % 50 === 0);
    expect(strided.some((p) => p.y === 10)).toBe(false);
  });
});

// A history cut into runs of one epoch's consecutive steps, of the given lengths where the epoch allows.
function runsOf(steps: readonly StepLoss[], cuts: readonly number[]): StepRun[] {
  const runs: StepRun[] = [];
  let from = 0;
  for (let index = 0; from < steps.length; index++) {
    const first = steps[from] as StepLoss;
    let to = Math.min(steps.length, from + Math.max(1, cuts[index] ?? steps.length));
    for (let at = from + 1; at < to; at++) if ((steps[at] as StepLoss).epoch !== first.epoch) to = at;
    runs.push({
      firstStep: first.step,
      epoch: first.epoch,
      losses: Float64Array.from(steps.slice(from, to), (s) => s.loss),
    });
    from = to;
  }
  return runs;
}

const history = (length: number, loss: (step: number) => number): StepLoss[] =>
  Array.from({ length }, (_, index) => ({ step: index + 1, epoch: 1 + Math.floor(index / 97), loss: loss(index + 1) }));
const byLttb = (steps: StepLoss[], target: number) =>
  lttb(
    steps,
    target,
    (s) => s.step,
    (s) => s.loss,
  );

describe('LTTB over runs of steps', () => {
  it('picks exactly the points LTTB picks from the whole array, from one read', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.float({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 0, maxLength: 600 }),
        fc.integer({ min: 2, max: 650 }),
        fc.array(fc.integer({ min: 1, max: 80 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (losses, target, cuts, runsPerPage) => {
          const steps = history(losses.length, (step) => losses[step - 1] as number);
          const runs = runsOf(steps, cuts);
          let reads = 0;
          const sampled = await lttbRuns(steps.length, target, () => {
            reads += 1;
            return pagesOf(runs, runsPerPage);
          });
          expect(sampled).toEqual(byLttb(steps, target));
          expect(reads).toBe(1);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads twice instead of holding buckets too large to hold, and still picks what LTTB picks', async () => {
    const steps = history(300_000, (step) => (step === 123_457 ? 9 : Math.exp(-step / 50_000) + Math.sin(step) / 20));
    const runs = runsOf(steps, Array<number>(1000).fill(480));
    for (const target of [3, 4, 5]) {
      let reads = 0;
      const sampled = await lttbRuns(steps.length, target, () => {
        reads += 1;
        return pagesOf(runs, 20);
      });
      expect(sampled).toEqual(byLttb(steps, target));
      expect(reads).toBe(2);
    }
    // Fine enough to hold: one read, and the spike is kept.
    const fine = await lttbRuns(steps.length, 500, () => pagesOf(runs, 20));
    expect(fine).toEqual(byLttb(steps, 500));
    expect(fine.some((point) => point.loss === 9)).toBe(true);
  });

  it('ends with the last step read, in order, when the history shrinks or grows during the read', async () => {
    const steps = history(5000, (step) => Math.cos(step / 30));
    for (const [length, read] of [
      [5000, steps.slice(0, 4200)],
      [4200, steps],
    ] as const) {
      for (const target of [3, 50]) {
        const sampled = await lttbRuns(length, target, () => pagesOf(runsOf(read, Array<number>(20).fill(480)), 3));
        expect(sampled[0]).toEqual(steps[0]);
        expect(sampled.at(-1)).toEqual(read.at(-1));
        expect(sampled.map((p) => p.step)).toEqual([...new Set(sampled.map((p) => p.step))].sort((a, b) => a - b));
      }
    }
    expect(await lttbRuns(0, 10, () => pagesOf([], 1))).toEqual([]);
    expect(runsOf(steps, [480, 7, 1000]).flatMap(runSteps)).toEqual(steps);
  });
});
