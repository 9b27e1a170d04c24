/** Whether to split a step with the helper waiting for it, from how fast steps have gone each way. */
export interface SplitPolicy {
  wantsSplit(): boolean;
  /** A step went `split` or alone at `msPerExample`. */
  record(split: boolean, msPerExample: number): void;
}

/** The last few values and their median. */
class Recent {
  private readonly values: number[] = [];

  constructor(private readonly size: number) {}

  add(value: number): void {
    this.values.push(value);
    if (this.values.length > this.size) this.values.shift();
  }

  get count(): number {
    return this.values.length;
  }

  median(): number {
    const sorted = [...this.values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? Number.POSITIVE_INFINITY;
  }
}

/** Steps timed each way before the choice starts comparing. */
const WARM_UP = 3;
/** Every this many steps goes the other way, so the choice follows the machine's load as it changes. */
const PROBE_EVERY = 16;

/**
 * Splits a step only while split steps are faster: whether a second thread pays depends on what
 * else the machine runs (a lent thread on a core other processes keep busy only slows the job), so
 * the job times its steps both ways (medians of the last 9, per example) and takes the faster,
 * trying the other every PROBE_EVERY steps. Either way gives the same result to the bit.
 */
export class AdaptiveSplit implements SplitPolicy {
  private readonly split = new Recent(9);
  private readonly alone = new Recent(9);
  private steps = 0;

  wantsSplit(): boolean {
    this.steps += 1;
    if (this.split.count < WARM_UP) return true;
    if (this.alone.count < WARM_UP) return false;
    const better = this.split.median() <= this.alone.median();
    return this.steps % PROBE_EVERY === 0 ? !better : better;
  }

  record(split: boolean, msPerExample: number): void {
    (split ? this.split : this.alone).add(msPerExample);
  }
}

/** Splits every step a helper is there for (tests of exactness). */
export const alwaysSplit: SplitPolicy = { wantsSplit: () => true, record: () => undefined };
