// User input names object keys in many places (sweep parameter paths, CSV headers, class names, spec
// fields). These three reach an object's prototype instead of the object itself, so one write through
// them changes every object of the process. They are never a field, a column or a class of ours.

const prototypeKeys: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

/** Whether `key` would address a prototype rather than an own property (`__proto__`, `prototype`, `constructor`). */
export function isPrototypeKey(key: string): boolean {
  return prototypeKeys.has(key);
}

/** `record[key]` when `record` has it as its own property; never an inherited one. */
export function ownValue(record: object, key: string | number): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string | number, unknown>)[key] : undefined;
}

/**
 * Sets `record[key]` as an own, enumerable data property. Unlike an assignment, defining a property
 * never runs the `__proto__` setter nor writes through to a prototype.
 */
export function setOwn(record: object, key: string | number, value: unknown): void {
  Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
}
