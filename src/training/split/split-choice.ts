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

/** Steps one way before the choice is made again. */
const BLOCK = 16;
/** First steps of a block left untimed: a switch's own costs (all weights copied, a cold helper thread). */
const SETTLE = 3;
/** Every this many blocks goes the other way, so the choice follows the machine's load as it changes. */
const EXPLORE_EVERY = 8;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * Splits steps only while split steps are faster: whether a second thread pays depends on what else
 * the machine runs (a lent thread on a core other processes keep busy only slows the job), so the job
 * times its steps in blocks of BLOCK, split or alone (each block's median per example, the last 3
 * blocks each way), takes the faster, and every EXPLORE_EVERY blocks tries the other. Either way
 * gives the same result to the bit.
 */
export class AdaptiveSplit implements SplitPolicy {
  private readonly blocks = { split: new Recent(3), alone: new Recent(3) };
  private split = true;
  private inBlock = 0;
  private times: number[] = [];
  private blockCount = 0;

  wantsSplit(): boolean {
    if (this.inBlock === BLOCK) this.nextBlock();
    this.inBlock += 1;
    return this.split;
  }

  record(split: boolean, msPerExample: number): void {
    if (split === this.split && this.inBlock > SETTLE) this.times.push(msPerExample);
  }

  private nextBlock(): void {
    if (this.times.length > 0) this.blocks[this.split ? 'split' : 'alone'].add(median(this.times));
    this.times = [];
    this.inBlock = 0;
    this.blockCount += 1;
    const { split, alone } = this.blocks;
    if (split.count === 0 || alone.count === 0) {
      this.split = split.count === 0;
      return;
    }
    const better = split.median() <= alone.median();
    this.split = this.blockCount % EXPLORE_EVERY === 0 ? !better : better;
  }
}

/** Splits every step a helper is there for (tests of exactness). */
export const alwaysSplit: SplitPolicy = { wantsSplit: () => true, record: () => undefined };
