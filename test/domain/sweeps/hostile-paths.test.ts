import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSweepSpec } from '../../../src/domain/sweeps/parse-sweep.js';
import { parseSpecPath, pathProblem, withValueAt } from '../../../src/domain/sweeps/spec-path.js';
import { smallSpec } from '../../helpers/specs.js';

// A sweep parameter's path is user input that walks into a copy of the spec. Whatever the path, the
// walk must stay on the copy's own properties: one write through `__proto__` or
// `constructor.prototype` would change every object of the process.

const builtins = [Object.prototype, Array.prototype, Function.prototype];
const baseline = builtins.map((prototype) => new Set(Reflect.ownKeys(prototype)));

/** The names added to a builtin prototype since the file started, or an empty list. */
function pollution(): string[] {
  return builtins.flatMap((prototype, index) =>
    Reflect.ownKeys(prototype)
      .filter((key) => !baseline[index]!.has(key))
      .map(String),
  );
}

afterEach(() => {
  // Clean up whatever a failing run planted, so one failure does not cascade through the file.
  for (const [index, prototype] of builtins.entries())
    for (const key of Reflect.ownKeys(prototype))
      if (!baseline[index]!.has(key)) Reflect.deleteProperty(prototype, key);
});

const prototypeNames = ['__proto__', 'prototype', 'constructor'];
const segment = fc.oneof(
  fc.constantFrom(...prototypeNames, 'model', 'layers', 'units', 'learningRate', 'polluted', 'toString', 'valueOf'),
  fc.stringMatching(/^[A-Za-z_]\w{0,8}$/),
);
const hostilePath = fc
  .array(fc.tuple(segment, fc.array(fc.nat(3), { maxLength: 2 })), { minLength: 1, maxLength: 5 })
  .map((parts) => parts.map(([key, indices]) => key + indices.map((index) => `[${index}]`).join('')).join('.'));

describe('sweep parameter paths', () => {
  it('refuses every path through __proto__, prototype or constructor, naming the segment', () => {
    for (const path of ['__proto__.polluted', 'constructor.prototype.polluted', 'model.__proto__', 'prototype']) {
      expect(parseSpecPath(path)).toBeUndefined();
      const result = parseSweepSpec(
        {
          name: 'hostile',
          base: smallSpec(),
          method: 'grid',
          parameters: { [path]: { values: [1] } },
          objective: { metric: 'testAccuracy', goal: 'maximize' },
        },
        { maxParameters: 20_000_000 },
      );
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.issues[0]?.path).toBe(`parameters.${path}`);
        expect(result.issues[0]?.message).toMatch(/"(__proto__|prototype|constructor)" is not a field/);
      }
    }
    expect(pollution()).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never reaches a prototype, whatever the path and the value (property-based)', () => {
    fc.assert(
      fc.property(hostilePath, fc.jsonValue(), (path, value) => {
        const spec = smallSpec();
        const segments = parseSpecPath(path);
        if (segments) {
          if (pathProblem(spec, segments) === undefined) withValueAt(spec, segments, value);
        } else {
          // The parser refused it; the writer refuses it too when handed the raw segments.
          const raw = path.split(/[.[\]]+/).filter((part) => part !== '');
          if (raw.some((part) => prototypeNames.includes(part)))
            expect(() => withValueAt(spec, raw, value)).toThrow(TypeError);
        }
        parseSweepSpec(
          {
            name: 'hostile',
            base: spec,
            method: 'grid',
            parameters: { [path]: { values: [value] } },
            objective: { metric: 'testAccuracy', goal: 'maximize' },
          },
          { maxParameters: 20_000_000 },
        );
        return pollution().length === 0;
      }),
      { numRuns: 2000 },
    );
    expect(pollution()).toEqual([]);
  });

  it('writes a new key of the copy as its own property, leaving the input untouched', () => {
    const spec = smallSpec();
    const copy = withValueAt(spec, ['model', 'layers', 0, 'units'], 7) as ReturnType<typeof smallSpec>;
    expect(copy.model.layers[0]).toMatchObject({ units: 7 });
    expect(spec.model.layers[0]).not.toMatchObject({ units: 7 });
    const added = withValueAt(spec, ['toString', 'x'], 1) as Record<string, unknown>;
    // `toString` is inherited, not the spec's: the walk makes an own object instead of writing into it.
    expect(Object.hasOwn(added, 'toString')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(added, 'toString')?.value).toEqual({ x: 1 });
  });
});
