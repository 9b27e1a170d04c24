/**
 * Steps per second over the last few seconds of steps, and a loss smoothed as TensorBoard does
 * (an exponential moving average, debiased so its first values are not pulled towards 0).
 */
export function createTrainingRate(windowMs = 5000, smoothing = 0.9) {
  const seen: { at: number; step: number }[] = [];
  let average = 0;
  let losses = 0;
  return {
    /** Records that `step` was reached, with its loss, at `at` (ms). */
    add(step: number, loss: number, at = performance.now()): void {
      seen.push({ at, step });
      while (seen.length > 2 && (seen[0] as { at: number }).at < at - windowMs) seen.shift();
      if (!Number.isFinite(loss)) return;
      average = smoothing * average + (1 - smoothing) * loss;
      losses += 1;
    },
    /** Steps per second over the window; null until there are two moments to compare. */
    stepsPerSecond(): number | null {
      const first = seen[0];
      const last = seen.at(-1);
      if (!first || !last || last.at - first.at < 200 || last.step === first.step) return null;
      return ((last.step - first.step) * 1000) / (last.at - first.at);
    },
    smoothedLoss(): number | null {
      return losses === 0 ? null : average / (1 - smoothing ** losses);
    },
  };
}
