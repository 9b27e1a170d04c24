/** A small seeded PRNG (mulberry32): the same seed gives the same stream on every backend. */
export class Random {
  private state_: number;

  constructor(seed: number) {
    this.state_ = seed >>> 0;
  }

  /** The whole generator state, to checkpoint and restore a stream exactly. */
  get state(): number {
    return this.state_;
  }

  set state(value: number) {
    this.state_ = value >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state_ = (this.state_ + 0x6d2b79f5) >>> 0;
    let t = this.state_;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A 32-bit integer, for seeding something else deterministically. */
  nextUint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle(values: Uint32Array): Uint32Array {
    for (let index = values.length - 1; index > 0; index--) {
      const other = Math.floor(this.next() * (index + 1));
      const held = values[index] as number;
      values[index] = values[other] as number;
      values[other] = held;
    }
    return values;
  }
}
