/** One problem with a predict request, at a path such as `inputs[3]` or `inputs[3][17]`. */
export interface PredictIssue {
  path: string;
  message: string;
}

/** A refused predict request: a value, not an HTTP status (the API maps `code` to one). */
export interface PredictError {
  code: 'invalid_input' | 'too_many_inputs';
  message: string;
  issues: PredictIssue[];
}

/** Validation outcome: the raw values packed row-major, or what is wrong. */
export type Packed = { ok: true; values: Float32Array; rows: number } | { ok: false; error: PredictError };

// Enough to show what is wrong without answering a hostile body with a huge one.
export const maxIssues = 20;

export function invalid(issues: PredictIssue[], message = 'the request has invalid inputs'): PredictError {
  return { code: 'invalid_input', message, issues: issues.slice(0, maxIssues) };
}

export function tooMany(field: string, count: number, maxInputs: number): PredictError {
  return {
    code: 'too_many_inputs',
    message: `a request may hold at most ${maxInputs} inputs; got ${count}`,
    issues: [{ path: field, message: `must hold at most ${maxInputs} items, got ${count}` }],
  };
}

/** Checks a list's presence and size before anything is decoded; null when fine. */
export function checkList(field: string, list: unknown, maxInputs: number): PredictError | null {
  if (!Array.isArray(list)) return invalid([{ path: field, message: 'must be an array' }]);
  if (list.length === 0) return invalid([{ path: field, message: 'must hold at least one item' }]);
  if (list.length > maxInputs) return tooMany(field, list.length, maxInputs);
  return null;
}

// The first problem of one input, or null.
function inputIssue(input: unknown, path: string, features: number, range: InputRange): PredictIssue | null {
  if (!Array.isArray(input)) return { path, message: `must be an array of ${features} numbers` };
  if (input.length !== features) return { path, message: `must have ${features} values, got ${input.length}` };
  for (let index = 0; index < features; index++) {
    const value: unknown = input[index];
    const at = `${path}[${index}]`;
    if (typeof value !== 'number') return { path: at, message: `must be a number, got ${typeof value}` };
    if (!Number.isFinite(value)) return { path: at, message: `must be a finite number, got ${value}` };
    if (value < range.min || value > range.max)
      return { path: at, message: `must be between ${range.min} and ${range.max}, got ${value}` };
  }
  return null;
}

export interface InputRange {
  min: number;
  max: number;
}

/** Validates `inputs` (arrays of `features` raw values within `range`) and packs them into one array. */
export function packInputs(inputs: unknown, features: number, range: InputRange, maxInputs: number): Packed {
  const listError = checkList('inputs', inputs, maxInputs);
  if (listError) return { ok: false, error: listError };
  const rows = inputs as unknown[];
  const issues: PredictIssue[] = [];
  for (const [index, input] of rows.entries()) {
    const issue = inputIssue(input, `inputs[${index}]`, features, range);
    if (issue) issues.push(issue);
    if (issues.length >= maxIssues) break;
  }
  if (issues.length > 0) return { ok: false, error: invalid(issues) };
  const values = new Float32Array(rows.length * features);
  for (const [index, input] of rows.entries()) values.set(input as number[], index * features);
  return { ok: true, values, rows: rows.length };
}
