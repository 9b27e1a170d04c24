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

type Coordinate<T> = (point: T) => number;

/** A series of `length` points that `read` yields in order, page by page, as often as it is called. */
interface PagedSeries<T> {
  length: number;
  read: () => AsyncIterable<readonly T[]>;
  x: Coordinate<T>;
  y: Coordinate<T>;
}

/** The series when there is nothing to choose: all of it, or just its first and last point. */
async function readWhole<T>({ read, x, y }: PagedSeries<T>, target: number): Promise<T[]> {
  if (target > 2) {
    const all: T[] = [];
    for await (const page of read()) all.push(...page);
    return lttb(all, target, x, y);
  }
  let first: T | undefined;
  let last: T | undefined;
  for await (const page of read()) {
    first ??= page[0];
    last = page.at(-1) ?? last;
  }
  return first === undefined || last === undefined ? [] : first === last ? [first] : [first, last];
}

/** LTTB's first pass: the average point of each bucket, and the last point (the last bucket's third corner). */
async function bucketAverages<T>({ length, read, x, y }: PagedSeries<T>, target: number) {
  const buckets = target - 2;
  const start = bucketStarts(length, target);
  const sumX = new Float64Array(buckets);
  const sumY = new Float64Array(buckets);
  const counts = new Float64Array(buckets);
  const last = { x: 0, y: 0 };
  let index = 0;
  let bucket = 0;
  for await (const page of read()) {
    for (const point of page) {
      if (index >= 1 && index < length - 1) {
        while (index >= start(bucket + 1)) bucket += 1;
        sumX[bucket] = (sumX[bucket] as number) + x(point);
        sumY[bucket] = (sumY[bucket] as number) + y(point);
        counts[bucket] = (counts[bucket] as number) + 1;
      } else if (index === length - 1) {
        last.x = x(point);
        last.y = y(point);
      }
      index += 1;
    }
  }
  // The third corner of bucket `bucket`'s triangles: the next bucket's average, or the last point.
  return (bucket: number) => {
    const next = bucket + 1;
    if (next >= buckets) return last;
    const count = Math.max(1, counts[next] as number);
    return { x: (sumX[next] as number) / count, y: (sumY[next] as number) / count };
  };
}

/**
 * `lttb` of a series of `length` points that `read` yields in order, page by page, and yields again
 * on a second call: the same points as `lttb` of the whole array, holding only O(target) of it.
 * Reads the series twice (bucket averages first, then the choice in each bucket); when the series
 * changes in between, the result is still in order and ends with the last point read.
 */
export async function lttbPaged<T>(
  length: number,
  target: number,
  read: () => AsyncIterable<readonly T[]>,
  x: Coordinate<T>,
  y: Coordinate<T>,
): Promise<T[]> {
  const series = { length, read, x, y };
  if (target >= length || length <= 2 || target <= 2) return readWhole(series, target);
  const corner = await bucketAverages(series, target);
  const start = bucketStarts(length, target);
  const sampled: T[] = [];
  let anchor = { x: 0, y: 0 };
  let best: T | undefined;
  let bestArea = -1;
  let last: T | undefined;
  const settle = () => {
    if (best === undefined) return;
    sampled.push(best);
    anchor = { x: x(best), y: y(best) };
    best = undefined;
    bestArea = -1;
  };
  let index = 0;
  let bucket = 0;
  for await (const page of read()) {
    for (const point of page) {
      last = point;
      if (index === 0) {
        sampled.push(point);
        anchor = { x: x(point), y: y(point) };
      } else if (index < length - 1) {
        while (index >= start(bucket + 1)) {
          settle();
          bucket += 1;
        }
        const average = corner(bucket);
        const area = Math.abs(
          (anchor.x - average.x) * (y(point) - anchor.y) - (anchor.x - x(point)) * (average.y - anchor.y),
        );
        // As in lttb: a bucket's first point stands until an area beats -1 (a NaN area never does).
        best ??= point;
        if (area > bestArea) {
          bestArea = area;
          best = point;
        }
      }
      index += 1;
    }
  }
  settle();
  // A series that shrank between the reads may have settled on its last point already.
  if (last !== undefined && index > 1 && last !== sampled.at(-1)) sampled.push(last);
  return sampled;
}
