/** A curve in columns (uPlot's layout): the same index in each array is one point. */
export interface CurveColumns {
  steps: number[];
  losses: number[];
  smoothed: number[];
}

/**
 * Halves the points of `curve` in place: each run of four keeps its lowest and its highest loss, in
 * step order, so spikes survive any number of halvings. The last point always stays, as it is: a live
 * stream resumes after its step, and a page shows its loss.
 */
export function halvePoints(curve: CurveColumns): void {
  const { steps, losses, smoothed } = curve;
  const last = steps.length - 1;
  let kept = 0;
  const keep = (index: number) => {
    steps[kept] = steps[index]!;
    losses[kept] = losses[index]!;
    smoothed[kept] = smoothed[index]!;
    kept += 1;
  };
  let start = 0;
  for (; start + 4 <= last; start += 4) {
    let low = start;
    let high = start;
    for (let index = start + 1; index < start + 4; index++) {
      if (losses[index]! < losses[low]!) low = index;
      if (losses[index]! > losses[high]!) high = index;
    }
    // A flat run (or one opening on NaN, which compares false) keeps its ends.
    if (low === high) high = start + 3;
    keep(Math.min(low, high));
    keep(Math.max(low, high));
  }
  for (let index = start; index <= last; index++) keep(index);
  steps.length = kept;
  losses.length = kept;
  smoothed.length = kept;
}
