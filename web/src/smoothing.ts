/**
 * TensorBoard's smoothing: an exponential moving average with weight `weight` in [0, 1), debiased so
 * that the first points are not pulled towards zero. Non-finite values pass through unsmoothed.
 */
export class Ema {
  private last = 0;
  private count = 0;
  constructor(readonly weight: number) {}

  next(value: number): number {
    if (!Number.isFinite(value)) return value;
    this.last = this.last * this.weight + (1 - this.weight) * value;
    this.count += 1;
    const debias = 1 - Math.pow(this.weight, this.count);
    return debias === 0 ? value : this.last / debias;
  }
}

/** Smooths a whole series. */
export function smooth(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return values.slice();
  const ema = new Ema(weight);
  return values.map((value) => ema.next(value));
}
