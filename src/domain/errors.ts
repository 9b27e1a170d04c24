/**
 * What can go wrong with a request about jobs, as values: a stable `code` and a human message.
 * Services throw these; they know nothing of HTTP (the API maps them to statuses in one place).
 */

/** One problem with one field of what a client sent; `path` is dotted (`model.layers.0.units`). */
export interface FieldIssue {
  path: string;
  message: string;
}

export type Dependency = 'database' | 'queue';

export abstract class DomainError extends Error {
  abstract readonly code: string;
}

/** One or more jobs that do not exist. */
export class JobNotFound extends DomainError {
  readonly code = 'not_found';
  /** `among`: the ids were named together (a comparison), so the message lists the missing ones. */
  constructor(
    readonly jobIds: readonly string[],
    { among = false } = {},
  ) {
    super(among ? `no job with id ${jobIds.join(', ')}` : `job ${jobIds.join(', ')} was not found`);
    this.name = 'JobNotFound';
  }
}

/** A job spec that breaks the spec's rules; `issues` names every bad field. */
export class InvalidSpec extends DomainError {
  readonly code = 'invalid_spec';
  constructor(readonly issues: readonly FieldIssue[]) {
    super(`invalid job spec: ${[...new Set(issues.map((issue) => issue.path))].join(', ')}`);
    this.name = 'InvalidSpec';
  }
}

/**
 * A request whose parameters are wrong (an id, a query, a header). `code` says which part, as in
 * `invalid_query` or `invalid_id`; `issues`, when there are any, name each bad field.
 */
export class InvalidRequest extends DomainError {
  constructor(
    readonly code: string,
    message: string,
    readonly issues?: readonly FieldIssue[],
  ) {
    super(message);
    this.name = 'InvalidRequest';
  }

  /** The usual shape: `invalid_<part>` with a message naming every field that has an issue. */
  static of(part: string, issues: readonly FieldIssue[]): InvalidRequest {
    const fields = [...new Set(issues.map((issue) => issue.path))].join(', ');
    return new InvalidRequest(`invalid_${part}`, `invalid ${part}: ${fields}`, issues);
  }
}

/** An idempotency key reused with a different request body. */
export class IdempotencyConflict extends DomainError {
  readonly code = 'idempotency_key_reused';
  constructor() {
    super('this Idempotency-Key was already used with a different body');
    this.name = 'IdempotencyConflict';
  }
}

/** A change asked of a job that has already ended (cancelling a completed job). */
export class JobAlreadyFinished extends DomainError {
  readonly code = 'job_finished';
  constructor(
    readonly jobId: string,
    readonly status: string,
  ) {
    super(`job ${jobId} has already ${status === 'cancelled' ? 'been cancelled' : status}`);
    this.name = 'JobAlreadyFinished';
  }
}

const dependencyNames: Record<Dependency, string> = {
  database: 'the database (Postgres)',
  queue: 'the queue (Redis)',
};

/** Postgres or Redis cannot be reached right now; trying again later may work. */
export class DependencyUnavailable extends DomainError {
  readonly code: `${Dependency}_unavailable`;
  constructor(
    readonly dependency: Dependency,
    options?: { cause?: unknown },
  ) {
    super(`${dependencyNames[dependency]} is unavailable right now; try again shortly`, options);
    this.code = `${dependency}_unavailable`;
    this.name = 'DependencyUnavailable';
  }
}

/** A change that only an ended job allows (deleting it), asked of a queued or running one. */
export class JobStillActive extends DomainError {
  readonly code = 'job_active';
  constructor(
    readonly jobId: string,
    readonly status: string,
  ) {
    super(`job ${jobId} is ${status}; cancel it first (POST /jobs/${jobId}/cancel), then delete it once it has ended`);
    this.name = 'JobStillActive';
  }
}

/** A job that exists but has no stored model of this version yet. */
export class ModelNotAvailable extends DomainError {
  readonly code = 'no_model';
  constructor(
    readonly jobId: string,
    readonly version: string,
    readonly status: string,
  ) {
    const when =
      status === 'queued' || status === 'running'
        ? `it is ${status}; its model is stored when it ends`
        : `it ${status === 'cancelled' ? 'was cancelled' : status} before any model was stored`;
    super(`job ${jobId} has no ${version} model: ${when}`);
    this.name = 'ModelNotAvailable';
  }
}

/** A job that exists but has no evaluation recorded (for this epoch) yet. */
export class EvaluationNotAvailable extends DomainError {
  readonly code = 'no_evaluation';
  constructor(
    readonly jobId: string,
    readonly epoch?: number,
  ) {
    super(`job ${jobId} has no evaluation recorded ${epoch === undefined ? 'yet' : `for epoch ${epoch}`}`);
    this.name = 'EvaluationNotAvailable';
  }
}

/** Something other than a job that does not exist: a dataset, or an example beyond a split's end. */
export class ResourceNotFound extends DomainError {
  readonly code = 'not_found';
  constructor(message: string) {
    super(message);
    this.name = 'ResourceNotFound';
  }
}

/** A request holding more items than one request may: `issues` names the field and the limit. */
export class TooManyItems extends DomainError {
  readonly code = 'too_many_inputs';
  constructor(
    message: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(message);
    this.name = 'TooManyItems';
  }
}

/** A dataset name nobody has uploaded (and no bundled one has). */
export class DatasetNotFound extends DomainError {
  readonly code = 'dataset_not_found';
  constructor(readonly datasetName: string) {
    super(`there is no dataset called "${datasetName}"`);
    this.name = 'DatasetNotFound';
  }
}

/** An upload under a name a dataset already has. */
export class DatasetNameTaken extends DomainError {
  readonly code = 'dataset_exists';
  constructor(readonly datasetName: string) {
    super(`a dataset called "${datasetName}" already exists; delete it first or choose another name`);
    this.name = 'DatasetNameTaken';
  }
}

/** Deleting a dataset that queued or running jobs still need. */
export class DatasetInUse extends DomainError {
  readonly code = 'dataset_in_use';
  constructor(
    readonly datasetName: string,
    readonly jobIds: readonly string[],
  ) {
    super(
      `dataset "${datasetName}" is used by ${jobIds.length} queued or running job(s): ${jobIds.join(', ')}; cancel them or wait for them to finish`,
    );
    this.name = 'DatasetInUse';
  }
}

/** Deleting a dataset that ships with the server, which is never allowed. */
export class BundledDatasetReadOnly extends DomainError {
  readonly code = 'dataset_bundled';
  constructor(readonly datasetName: string) {
    super(`"${datasetName}" is bundled with the server and cannot be deleted`);
    this.name = 'BundledDatasetReadOnly';
  }
}

/**
 * Uploaded dataset files (or the fields describing them) that cannot become a dataset. Each issue's
 * `path` names the form field, its message starts with the position (`line 3, column 5:`, `byte 16:`).
 */
export class InvalidDataset extends DomainError {
  readonly code = 'invalid_dataset';
  constructor(readonly issues: readonly FieldIssue[]) {
    super(`invalid dataset upload: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`);
    this.name = 'InvalidDataset';
  }
}

/**
 * An upload beyond a configured size: `what` is `upload` (bytes sent), `storage` (all datasets'
 * bytes) or `owner` (the bytes of one owner's datasets).
 */
export class DatasetTooLarge extends DomainError {
  readonly code: 'upload_too_large' | 'dataset_storage_full' | 'dataset_quota_exceeded';
  constructor(
    readonly what: 'upload' | 'storage' | 'owner',
    message: string,
  ) {
    super(message);
    const codes = {
      upload: 'upload_too_large',
      storage: 'dataset_storage_full',
      owner: 'dataset_quota_exceeded',
    } as const;
    this.code = codes[what];
    this.name = 'DatasetTooLarge';
  }
}

/** A request without a usable API key: none, an unknown one or a revoked one. */
export class Unauthenticated extends DomainError {
  readonly code = 'unauthenticated';
  constructor(message = 'this server needs an API key: send Authorization: Bearer <key>') {
    super(message);
    this.name = 'Unauthenticated';
  }
}

/** A key whose role may not do this (a viewer submitting, a member managing keys). */
export class Forbidden extends DomainError {
  readonly code = 'forbidden';
  constructor(role: string, action: string) {
    super(`a key with role ${role} may not ${action}`);
    this.name = 'Forbidden';
  }
}

/** Too many requests within a limit's window; `retryAfterSeconds` says when the window ends. */
export class RateLimited extends DomainError {
  readonly code = 'rate_limited';
  constructor(
    readonly limit: string,
    readonly max: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`rate limit exceeded: ${limit} (at most ${max} per minute); retry after ${retryAfterSeconds} s`);
    this.name = 'RateLimited';
  }
}

/** A quota that is full right now, such as queued plus running jobs per owner. */
export class QuotaExceeded extends DomainError {
  readonly code = 'quota_exceeded';
  constructor(
    readonly quota: string,
    readonly used: number,
    readonly max: number,
  ) {
    super(`quota exceeded: ${quota} is ${used} of at most ${max}`);
    this.name = 'QuotaExceeded';
  }
}

/** An API key id that names no key. */
export class ApiKeyNotFound extends DomainError {
  readonly code = 'not_found';
  constructor(readonly keyId: string) {
    super(`API key ${keyId} was not found`);
    this.name = 'ApiKeyNotFound';
  }
}

/** A sweep that does not exist. */
export class SweepNotFound extends DomainError {
  readonly code = 'not_found';
  constructor(readonly sweepId: string) {
    super(`sweep ${sweepId} was not found`);
    this.name = 'SweepNotFound';
  }
}

/** A sweep spec that breaks the rules; `issues` names every bad field, a parameter by its path. */
export class InvalidSweep extends DomainError {
  readonly code = 'invalid_sweep';
  constructor(readonly issues: readonly FieldIssue[]) {
    super(`invalid sweep spec: ${[...new Set(issues.map((issue) => issue.path))].join(', ')}`);
    this.name = 'InvalidSweep';
  }
}

/** A change asked of a sweep that has already ended. */
export class SweepAlreadyFinished extends DomainError {
  readonly code = 'sweep_finished';
  constructor(
    readonly sweepId: string,
    readonly status: string,
  ) {
    super(`sweep ${sweepId} has already ${status === 'cancelled' ? 'been cancelled' : status}`);
    this.name = 'SweepAlreadyFinished';
  }
}
