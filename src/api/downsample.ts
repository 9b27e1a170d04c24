/**
 * Largest-Triangle-Three-Buckets (Steinarsson, 2013): keeps `target` points of a series, always
 * the first and the last, choosing in each bucket the point that spans the largest triangle with
 * its neighbours, so peaks, dips and the curve's overall shape survive.
 */
export function lttb<T>(points: readonly T[], target: number, x: (point: T) => number, y: (point: T) => number): T[] {
  if (target >= points.length || points.length <= 2) return [...points];
  if (target <= 2) return [points[0] as T, points[points.length - 1] as T];
  const sampled: T[] = [points[0] as T];
  const bucketSize = (points.length - 2) / (target - 2);
  let anchor = 0;
  for (let bucket = 0; bucket < target - 2; bucket++) {
    const start = Math.floor(bucket * bucketSize) + 1;
    const end = Math.floor((bucket + 1) * bucketSize) + 1;
    // The next bucket's average is the triangle's third corner.
    const nextStart = end;
    const nextEnd = Math.min(Math.floor((bucket + 2) * bucketSize) + 1, points.length);
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
    let best = start;
    let bestArea = -1;
    for (let index = start; index < end; index++) {
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
  x: (point: T) => number,
  y: (point: T) => number,
): Promise<T[]> {
  if (target >= length || length <= 2) {
    const all: T[] = [];
    for await (const page of read()) all.push(...page);
    return lttb(all, target, x, y);
  }
  const buckets = Math.max(0, target - 2);
  const bucketSize = (length - 2) / Math.max(1, buckets);
  // Index of the first point of `bucket`; bucket `buckets` starts at the last point.
  const start = (bucket: number) => (bucket >= buckets ? length - 1 : Math.floor(bucket * bucketSize) + 1);

  const sumX = new Float64Array(buckets);
  const sumY = new Float64Array(buckets);
  const counts = new Float64Array(buckets);
  let lastX = 0;
  let lastY = 0;
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
        lastX = x(point);
        lastY = y(point);
      }
      index += 1;
    }
  }

  const sampled: T[] = [];
  let anchorX = 0;
  let anchorY = 0;
  let best: T | undefined;
  let bestArea = -1;
  let last: T | undefined;
  const settle = () => {
    if (best === undefined) return;
    sampled.push(best);
    anchorX = x(best);
    anchorY = y(best);
    best = undefined;
    bestArea = -1;
  };
  index = 0;
  bucket = 0;
  for await (const page of read()) {
    for (const point of page) {
      last = point;
      if (index === 0) {
        sampled.push(point);
        anchorX = x(point);
        anchorY = y(point);
      } else if (index < length - 1 && buckets > 0) {
        while (index >= start(bucket + 1)) {
          settle();
          bucket += 1;
        }
        // The next bucket's average (the last point for the last bucket) is the triangle's third corner.
        const next = bucket + 1;
        const averageX = next < buckets ? (sumX[next] as number) / Math.max(1, counts[next] as number) : lastX;
        const averageY = next < buckets ? (sumY[next] as number) / Math.max(1, counts[next] as number) : lastY;
        const area = Math.abs((anchorX - averageX) * (y(point) - anchorY) - (anchorX - x(point)) * (averageY - anchorY));
        if (area > bestArea) {
          bestArea = area;
          best = point;
        }
      }
      index += 1;
    }
  }
  settle();
  if (last !== undefined && index > 1) sampled.push(last);
  return sampled;
}
