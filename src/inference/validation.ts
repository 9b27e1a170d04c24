/** One problem with a predict request, at a path such as `inputs[3]` or `inputs[3][17]`. */
export interface PredictIssue {
  path: string;
  message: string;
}

/** A refused predict request: a value, not an HTTP status (the API maps `code` to one). */
export interface PredictError {
  code: 'invalid_input' | 'too_many_inputs' | 'images_too_large';
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

function valueIssue(value: unknown, at: string, range: InputRange): PredictIssue {
  if (typeof value !== 'number') return { path: at, message: `must be a number, got ${typeof value}` };
  if (!Number.isFinite(value)) return { path: at, message: `must be a finite number, got ${value}` };
  return { path: at, message: `must be between ${range.min} and ${range.max}, got ${value}` };
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
  const values = new Float32Array(rows.length * features);
  const issues: PredictIssue[] = [];
  for (let row = 0; row < rows.length && issues.length < maxIssues; row++) {
    const issue = packRow(rows[row], `inputs[${row}]`, features, values, row * features, range);
    if (issue) issues.push(issue);
  }
  if (issues.length > 0) return { ok: false, error: invalid(issues) };
  return { ok: true, values, rows: rows.length };
}

// Copies one input into `values` at `offset`, or gives its first problem. One pass, as this runs on
// the API's event loop for up to 784,000 values a request.
function packRow(
  input: unknown,
  path: string,
  features: number,
  values: Float32Array,
  offset: number,
  { min, max }: InputRange,
): PredictIssue | null {
  if (!Array.isArray(input)) return { path, message: `must be an array of ${features} numbers` };
  if (input.length !== features) return { path, message: `must have ${features} values, got ${input.length}` };
  for (let index = 0; index < features; index++) {
    const value: unknown = input[index];
    // NaN fails every comparison and the infinities are out of range: one test refuses them all.
    if (typeof value === 'number' && value >= min && value <= max) values[offset + index] = value;
    else return valueIssue(value, `${path}[${index}]`, { min, max });
  }
  return null;
}
