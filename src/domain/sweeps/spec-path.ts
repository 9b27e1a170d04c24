import { isPrototypeKey, ownValue, setOwn } from '../own-keys.js';

/** One step of a path into a job spec: an object key or an array index. */
export type PathSegment = string | number;

const pathPattern = /^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*$/;

/**
 * `model.layers[0].units` as `['model', 'layers', 0, 'units']`, or undefined when it is not a path:
 * not of that form, or with a `__proto__`, `prototype` or `constructor` segment (see prototypeSegmentOf).
 */
export function parseSpecPath(path: string): PathSegment[] | undefined {
  if (path.length > 200 || !pathPattern.test(path)) return undefined;
  const segments: PathSegment[] = [];
  for (const part of path.split('.')) {
    const [key, ...indices] = part.split('[');
    segments.push(key as string);
    for (const index of indices) segments.push(Number(index.slice(0, -1)));
  }
  return prototypeSegmentOf(segments) === undefined ? segments : undefined;
}

/** The first segment that would address a prototype (`__proto__`, `prototype`, `constructor`), if any. */
export function prototypeSegmentOf(segments: readonly (string | number)[]): string | undefined {
  return segments.find((segment): segment is string => typeof segment === 'string' && isPrototypeKey(segment));
}

/** The path as a spec issue names it: `model.layers.0.units`. */
export function issuePath(segments: readonly PathSegment[]): string {
  return segments.map(String).join('.');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Why `segments` cannot address a value in `spec`, or undefined when it can: every index must
 * name an existing element of an array (a sweep does not add layers), every key an object member or
 * a new key of an object (whether that key is a spec field is the job-spec schema's call).
 */
export function pathProblem(spec: unknown, segments: readonly PathSegment[]): string | undefined {
  let current: unknown = spec;
  for (const [position, segment] of segments.entries()) {
    const last = position === segments.length - 1;
    if (typeof segment === 'number') {
      if (!Array.isArray(current) || segment >= current.length)
        return `${issuePath(segments.slice(0, position))} has no element ${segment}`;
      current = current[segment];
    } else {
      if (current === undefined && !last) return undefined;
      if (current !== undefined && !isRecord(current))
        return `${issuePath(segments.slice(0, position))} is not an object`;
      current = current === undefined ? undefined : ownValue(current, segment);
    }
  }
  return undefined;
}

/**
 * A deep copy of `spec` (plain JSON) with `value` at `segments`; objects missing on the way are
 * created. It reads and writes own properties only, so no segment can reach a prototype; a segment
 * that names one is a programming error (parseSpecPath refuses them) and throws.
 */
export function withValueAt(spec: unknown, segments: readonly PathSegment[], value: unknown): unknown {
  const refused = prototypeSegmentOf(segments);
  if (refused !== undefined) throw new TypeError(`a spec path cannot go through "${refused}"`);
  const copy = structuredClone(spec) as Record<string, unknown>;
  let container: object = copy;
  for (const [position, segment] of segments.entries()) {
    if (position === segments.length - 1) {
      setOwn(container, segment, value);
      break;
    }
    let next = ownValue(container, segment);
    if (typeof next !== 'object' || next === null) {
      next = {};
      setOwn(container, segment, next);
    }
    container = next as object;
  }
  return copy;
}
