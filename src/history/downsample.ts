import type { StepLoss, StepRun } from '../domain/metrics.js';

/**
 * Where each of LTTB's `target - 2` buckets starts among `length` points: evenly between the first
 * and the last point, in integers so every point but those two lands in exactly one bucket. Bucket
 * `target - 2` starts at the last point, and the one after it ends the series.
 */
function bucketStarts(length: number, target: number): (bucket: number) => number {
  const buckets = target - 2;
  return (bucket) => (bucket > buckets ? length : Math.floor((bucket * (length - 2)) / buckets) + 1);
}

/**
 * Largest-Triangle-Three-Buckets (Steinarsson, 2013): keeps `target` points of a series, always
 * the first and the last, choosing in each bucket the point that spans the largest triangle with
 * its neighbours, so peaks, dips and the curve's overall shape survive.
 */
export function lttb<T>(points: readonly T[], target: number, x: (point: T) => number, y: (point: T) => number): T[] {
  if (target >= points.length || points.length <= 2) return [...points];
  if (target <= 2) return [points[0] as T, points[points.length - 1] as T];
  const sampled: T[] = [points[0] as T];
  const start = bucketStarts(points.length, target);
  let anchor = 0;
  for (let bucket = 0; bucket < target - 2; bucket++) {
    const end = start(bucket + 1);
    // The next bucket's average (the last point's, after the last bucket) is the triangle's third corner.
    const nextStart = end;
    const nextEnd = Math.min(start(bucket + 2), points.length);
    let averageX = 0;
    let averageY = 0;
    for (let index = nextStart; index < nextEnd; index++) {
      averageX += x(points[index] as T);
      averageY += y(points[index] as T);
    }
    const count = Math.max(1, nextEnd - nextStart);
    averageX /= count;
    averageY /= count;
    const anchorX = x(points[anchor] as T);
    const anchorY = y(points[anchor] as T);
    let best = start(bucket);
    let bestArea = -1;
    for (let index = start(bucket); index < end; index++) {
      const point = points[index] as T;
      const area = Math.abs((anchorX - averageX) * (y(point) - anchorY) - (anchorX - x(point)) * (averageY - anchorY));
      if (area > bestArea) {
        bestArea = area;
        best = index;
      }
    }
    sampled.push(points[best] as T);
    anchor = best;
  }
  sampled.push(points[points.length - 1] as T);
  return sampled;
}

interface Corner {
  x: number;
  y: number;
}

/**
 * The choice in one LTTB bucket, offered its points in order: the first whose triangle with the
 * anchor (the point chosen before) and the corner (the next bucket's average) is largest, as `lttb`
 * chooses it.
 */
class BucketChoice {
  private anchor: Corner = { x: 0, y: 0 };
  private corner: Corner = { x: 0, y: 0 };
  private best: StepLoss | undefined;
  private bestArea = -1;

  /** The series' first point, which anchors the first bucket. */
  anchorAt(step: number, loss: number) {
    this.anchor = { x: step, y: loss };
  }

  begin(corner: Corner) {
    this.corner = corner;
    this.best = undefined;
    this.bestArea = -1;
  }

  offer(step: number, epoch: number, loss: number) {
    const { anchor, corner } = this;
    const area = Math.abs((anchor.x - corner.x) * (loss - anchor.y) - (anchor.x - step) * (corner.y - anchor.y));
    // A bucket's first point stands until an area beats -1 (a NaN area never does).
    if (this.best === undefined || area > this.bestArea) {
      if (area > this.bestArea) this.bestArea = area;
      this.best = { step, epoch, loss };
    }
  }

  /** The point chosen, which anchors the next bucket; undefined when the bucket had no point. */
  settle(): StepLoss | undefined {
    const chosen = this.best;
    if (chosen !== undefined) this.anchor = { x: chosen.step, y: chosen.loss };
    this.best = undefined;
    return chosen;
  }
}

/** One bucket's points, held until the bucket after it is whole and its average known. */
class HeldBucket {
  private readonly steps: Float64Array;
  private readonly epochs: Float64Array;
  private readonly losses: Float64Array;
  length = 0;
  private sumX = 0;
  private sumY = 0;

  constructor(capacity: number) {
    this.steps = new Float64Array(capacity);
    this.epochs = new Float64Array(capacity);
    this.losses = new Float64Array(capacity);
  }

  add(step: number, epoch: number, loss: number) {
    this.steps[this.length] = step;
    this.epochs[this.length] = epoch;
    this.losses[this.length] = loss;
    this.sum(step, loss);
  }

  /** Counts a point into the average without holding it. */
  sum(step: number, loss: number) {
    this.length += 1;
    // Summed in order from 0, as `lttb` sums, so the average is the same to the last bit.
    this.sumX += step;
    this.sumY += loss;
  }

  average(): Corner {
    const count = Math.max(1, this.length);
    return { x: this.sumX / count, y: this.sumY / count };
  }

  /** Offers every point to `choice`, then empties the bucket. */
  drain(choice: BucketChoice) {
    for (let index = 0; index < this.length; index++)
      choice.offer(this.steps[index] as number, this.epochs[index] as number, this.losses[index] as number);
    this.length = 0;
    this.sumX = 0;
    this.sumY = 0;
  }
}

/** Calls `visit` with each step of `pages` in order, with its index; resolves to the last step read. */
async function eachStep(
  pages: AsyncIterable<readonly StepRun[]>,
  visit: (index: number, step: number, epoch: number, loss: number) => void,
): Promise<StepLoss | undefined> {
  let index = 0;
  let last: StepLoss | undefined;
  for await (const page of pages) {
    for (const { firstStep, epoch, losses } of page) {
      for (let offset = 0; offset < losses.length; offset++)
        visit(index++, firstStep + offset, epoch, losses[offset] as number);
      if (losses.length > 0) last = { step: firstStep + losses.length - 1, epoch, loss: losses.at(-1) as number };
    }
  }
  return last;
}

/** The last step read closes the sample, unless it was chosen already (a history that shrank). */
function closed(sampled: StepLoss[], last: StepLoss | undefined): StepLoss[] {
  if (last === undefined) return [];
  if (sampled.at(-1)?.step !== last.step) sampled.push(last);
  return sampled;
}

/** LTTB from one read: each bucket is held until the next one is whole and its average known. */
async function lttbOneRead(length: number, target: number, capacity: number, pages: AsyncIterable<readonly StepRun[]>) {
  const start = bucketStarts(length, target);
  const choice = new BucketChoice();
  const sampled: StepLoss[] = [];
  const choose = (bucket: HeldBucket, corner: Corner) => {
    if (bucket.length === 0) return;
    choice.begin(corner);
    bucket.drain(choice);
    sampled.push(choice.settle() as StepLoss);
  };
  // The whole bucket waiting for its corner, and the bucket after it, being read.
  let held = new HeldBucket(capacity);
  let filling = new HeldBucket(capacity);
  let bucket = 0;
  const last = await eachStep(pages, (index, step, epoch, loss) => {
    if (index === 0) {
      sampled.push({ step, epoch, loss });
      choice.anchorAt(step, loss);
    } else if (index < length - 1) {
      while (index >= start(bucket + 1)) {
        choose(held, filling.average());
        [held, filling] = [filling, held];
        bucket += 1;
      }
      filling.add(step, epoch, loss);
    }
  });
  // The last step read is the last bucket's corner (the history's last step, unless that changed).
  const end = last === undefined ? { x: 0, y: 0 } : { x: last.step, y: last.loss };
  choose(held, filling.length > 0 ? filling.average() : end);
  choose(filling, end);
  return closed(sampled, last);
}

/** LTTB's first read where buckets are too large to hold: each one's third corner. */
async function bucketCorners(length: number, target: number, pages: AsyncIterable<readonly StepRun[]>) {
  const buckets = new Array(target - 1).fill(null).map(() => new HeldBucket(0));
  const start = bucketStarts(length, target);
  let bucket = 0;
  await eachStep(pages, (index, step, _epoch, loss) => {
    if (index < 1) return;
    while (index >= start(bucket + 1) && bucket < target - 2) bucket += 1;
    (buckets[bucket] as HeldBucket).sum(step, loss);
  });
  return (bucket: number) => (buckets[bucket + 1] as HeldBucket).average();
}

/** LTTB from two reads holding no bucket: the corners first, then the choice in each bucket. */
async function lttbTwoReads(length: number, target: number, read: () => AsyncIterable<readonly StepRun[]>) {
  const corner = await bucketCorners(length, target, read());
  const start = bucketStarts(length, target);
  const choice = new BucketChoice();
  const sampled: StepLoss[] = [];
  let bucket = 0;
  const settle = () => {
    const chosen = choice.settle();
    if (chosen !== undefined) sampled.push(chosen);
  };
  const last = await eachStep(read(), (index, step, epoch, loss) => {
    if (index === 0) {
      sampled.push({ step, epoch, loss });
      choice.anchorAt(step, loss);
      choice.begin(corner(0));
    } else if (index < length - 1) {
      while (index >= start(bucket + 1)) {
        settle();
        bucket += 1;
        choice.begin(corner(bucket));
      }
      choice.offer(step, epoch, loss);
    }
  });
  settle();
  return closed(sampled, last);
}

/** Most points two held buckets may hold before `lttbRuns` reads twice instead (24 bytes each). */
const maxHeldPoints = 1 << 17;

/**
 * `lttb` of a history of `length` steps that `read` yields in order as runs of consecutive steps:
 * the same points as `lttb` of the whole array of steps, with no object per step. It reads once,
 * holding O(length / target) steps; where that is more than `maxHeldPoints`, it reads twice holding
 * O(target). When the history changes during the reads, the result is still in order and ends with
 * the last step read.
 */
export async function lttbRuns(
  length: number,
  target: number,
  read: () => AsyncIterable<readonly StepRun[]>,
): Promise<StepLoss[]> {
  if (target >= length || length <= 2 || target <= 2) {
    const steps: StepLoss[] = [];
    const last = await eachStep(read(), (index, step, epoch, loss) => {
      if (target > 2 || index === 0) steps.push({ step, epoch, loss });
    });
    return target > 2
      ? lttb(
          steps,
          target,
          (point) => point.step,
          (point) => point.loss,
        )
      : closed(steps, last);
  }
  const capacity = Math.ceil((length - 2) / (target - 2)) + 1;
  if (2 * capacity > maxHeldPoints) return lttbTwoReads(length, target, read);
  return lttbOneRead(length, target, capacity, read());
}
