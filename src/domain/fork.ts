import type { FieldIssue } from './errors.js';
import type { StoredJobSpec } from './job-spec.js';

/** The fields of a spec a fork may change; the model, the dataset and the data split stay the parent's. */
export const forkOverrideFields = [
  'epochs',
  'learningRate',
  'optimizer',
  'batchSize',
  'earlyStopping',
  'name',
  'tags',
] as const;
export type ForkOverrideField = (typeof forkOverrideFields)[number];

/** What a fork asks for, its fields checked against what a fork may change (their values are the spec's to check). */
export interface ForkRequest {
  fromEpoch?: number;
  overrides: Partial<Record<ForkOverrideField, unknown>>;
}

/** Which of the parent's state a fork starts from: its weights always, its optimizer state and batches unless changed. */
export interface Resumed {
  weights: true;
  optimizerState: boolean;
  dataOrder: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const isOverrideField = (key: string): key is ForkOverrideField =>
  (forkOverrideFields as readonly string[]).includes(key);

/**
 * Reads a fork's body: `{ fromEpoch?, overrides? }`. Every issue names its field; an override of a
 * field a fork may not change (the model, the dataset, the validation split, ...) is one.
 */
export function parseForkRequest(
  body: unknown,
): { ok: true; request: ForkRequest } | { ok: false; issues: FieldIssue[] } {
  const input = body === undefined || body === null ? {} : body;
  if (!isObject(input)) return { ok: false, issues: [{ path: '', message: 'must be a JSON object' }] };
  const issues: FieldIssue[] = [];
  for (const key of Object.keys(input)) {
    if (key !== 'fromEpoch' && key !== 'overrides') issues.push({ path: key, message: 'is not a field of a fork' });
  }
  const { fromEpoch, overrides = {} } = input;
  if (fromEpoch !== undefined && !(Number.isInteger(fromEpoch) && (fromEpoch as number) >= 1)) {
    issues.push({ path: 'fromEpoch', message: 'must be an integer of at least 1' });
  }
  const chosen: Partial<Record<ForkOverrideField, unknown>> = {};
  if (!isObject(overrides)) {
    issues.push({ path: 'overrides', message: 'must be an object' });
  } else {
    // Only names from the list become keys of `chosen`: nothing the client wrote is used as a key.
    for (const key of Object.keys(overrides)) {
      if (!isOverrideField(key)) {
        issues.push({
          path: `overrides.${key}`,
          message: `a fork may not change ${key}; it may change ${forkOverrideFields.join(', ')}`,
        });
      }
    }
    for (const field of forkOverrideFields) {
      if (Object.hasOwn(overrides, field)) chosen[field] = overrides[field];
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    request: { ...(fromEpoch === undefined ? {} : { fromEpoch: fromEpoch as number }), overrides: chosen },
  };
}

/**
 * The spec body of a fork of `parent`: the parent's spec with the overrides applied (`earlyStopping:
 * null` removes the rule), its seed kept, so an unchanged fork trains exactly as the parent did.
 * Checking it as a spec is the submission's job.
 */
export function forkSpecBody(parent: StoredJobSpec, overrides: ForkRequest['overrides']): Record<string, unknown> {
  const body: Record<string, unknown> = { ...parent };
  for (const field of forkOverrideFields) {
    if (!Object.hasOwn(overrides, field)) continue;
    const value = overrides[field];
    if (field === 'earlyStopping' && value === null) delete body.earlyStopping;
    else body[field] = value;
  }
  return body;
}

/** What a fork of `parent` into `child` keeps besides the weights. */
export function resumedState(
  parent: Pick<StoredJobSpec, 'optimizer' | 'batchSize'>,
  child: Pick<StoredJobSpec, 'optimizer' | 'batchSize'>,
): Resumed {
  return {
    weights: true,
    optimizerState: parent.optimizer === child.optimizer,
    dataOrder: parent.batchSize === child.batchSize,
  };
}
