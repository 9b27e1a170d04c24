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
