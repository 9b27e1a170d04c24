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

/**
 * What kind of failure an error is, whatever its code: the API answers each kind with one status
 * (src/api/http/errors.ts), so a new error is one class here and nothing else.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unprocessable'
  | 'too_many_requests'
  | 'unavailable';

/** The base of every error below: its `name` is its class's, so logs and `String(error)` say which it is. */
export abstract class DomainError extends Error {
  abstract readonly kind: ErrorKind;
  /** The fields that were wrong, each with its problem, for the errors that name fields. */
  readonly issues?: readonly FieldIssue[];
  /** When trying again may work, for the errors that know. */
  readonly retryAfterSeconds?: number;

  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The fields named by `issues`, each once, in order. */
const fieldsOf = (issues: readonly FieldIssue[]) => [...new Set(issues.map((issue) => issue.path))].join(', ');

/** How an ended job or sweep is described: `completed`, `failed`, `been cancelled`. */
const hasEnded = (status: string) => (status === 'cancelled' ? 'been cancelled' : status);

/** One or more jobs that do not exist. */
export class JobNotFound extends DomainError {
  readonly kind = 'not_found';
  /** `among`: the ids were named together (a comparison), so the message lists the missing ones. */
  constructor(
    readonly jobIds: readonly string[],
    { among = false } = {},
  ) {
    super('not_found', among ? `no job with id ${jobIds.join(', ')}` : `job ${jobIds.join(', ')} was not found`);
  }
}

/** A job spec that breaks the spec's rules; `issues` names every bad field. */
export class InvalidSpec extends DomainError {
  readonly kind = 'invalid';
  constructor(override readonly issues: readonly FieldIssue[]) {
    super('invalid_spec', `invalid job spec: ${fieldsOf(issues)}`);
  }
}

/**
 * A request whose parameters are wrong (an id, a query, a header). `code` says which part, as in
 * `invalid_query` or `invalid_id`; `issues`, when there are any, name each bad field.
 */
export class InvalidRequest extends DomainError {
  readonly kind = 'invalid';
  constructor(
    code: string,
    message: string,
    override readonly issues?: readonly FieldIssue[],
  ) {
    super(code, message);
  }

  /** The usual shape: `invalid_<part>` with a message naming every field that has an issue. */
  static of(part: string, issues: readonly FieldIssue[]): InvalidRequest {
    return new InvalidRequest(`invalid_${part}`, `invalid ${part}: ${fieldsOf(issues)}`, issues);
  }
}

/** An idempotency key reused with a different request body. */
export class IdempotencyConflict extends DomainError {
  readonly kind = 'unprocessable';
  constructor() {
    super('idempotency_key_reused', 'this Idempotency-Key was already used with a different body');
  }
}

/** A change asked of a job that has already ended (cancelling a completed job). */
export class JobAlreadyFinished extends DomainError {
  readonly kind = 'conflict';
  constructor(
    readonly jobId: string,
    readonly status: string,
  ) {
    super('job_finished', `job ${jobId} has already ${hasEnded(status)}`);
  }
}

const dependencyNames: Record<Dependency, string> = {
  database: 'the database (Postgres)',
  queue: 'the queue (Redis)',
};

/** Postgres or Redis cannot be reached right now; trying again later may work. */
export class DependencyUnavailable extends DomainError {
  readonly kind = 'unavailable';
  override readonly retryAfterSeconds = 5;
  declare readonly code: `${Dependency}_unavailable`;
  constructor(
    readonly dependency: Dependency,
    options?: { cause?: unknown },
  ) {
    super(
      `${dependency}_unavailable`,
      `${dependencyNames[dependency]} is unavailable right now; try again shortly`,
      options,
    );
  }
}

/**
 * The artifact store (object storage holding models, checkpoints and datasets) cannot be reached, or
 * refuses this server (a missing bucket, wrong credentials); `store` names it, as configured.
 */
export class ArtifactStoreUnavailable extends DomainError {
  readonly kind = 'unavailable';
  override readonly retryAfterSeconds = 5;
  constructor(
    readonly store: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super('artifact_store_unavailable', `artifact store unavailable: ${store} (${reason}); try again shortly`, options);
  }
}

/** A change that only an ended job allows (deleting it), asked of a queued or running one. */
export class JobStillActive extends DomainError {
  readonly kind = 'conflict';
  constructor(
    readonly jobId: string,
    readonly status: string,
  ) {
    super(
      'job_active',
      `job ${jobId} is ${status}; cancel it first (POST /jobs/${jobId}/cancel), then delete it once it has ended`,
    );
  }
}

/** A job that exists but has no stored model of this version yet. */
export class ModelNotAvailable extends DomainError {
  readonly kind = 'conflict';
  constructor(
    readonly jobId: string,
    readonly version: string,
    readonly status: string,
  ) {
    const when =
      status === 'queued' || status === 'running'
        ? `it is ${status}; its model is stored when it ends`
        : `it ${status === 'cancelled' ? 'was cancelled' : status} before any model was stored`;
    super('no_model', `job ${jobId} has no ${version} model: ${when}`);
  }
}

/** A job that exists but has no evaluation recorded (for this epoch) yet. */
export class EvaluationNotAvailable extends DomainError {
  readonly kind = 'conflict';
  constructor(
    readonly jobId: string,
    readonly epoch?: number,
  ) {
    super(
      'no_evaluation',
      `job ${jobId} has no evaluation recorded ${epoch === undefined ? 'yet' : `for epoch ${epoch}`}`,
    );
  }
}

/** Something other than a job that does not exist: a dataset, or an example beyond a split's end. */
export class ResourceNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(message: string) {
    super('not_found', message);
  }
}

/**
 * A request holding more than one request may: more items, or images that decode to more bytes
 * (`images_too_large`); `issues` names the field and the limit.
 */
export class TooManyItems extends DomainError {
  readonly kind = 'too_large';
  constructor(
    message: string,
    override readonly issues: readonly FieldIssue[],
    code: 'too_many_inputs' | 'images_too_large' = 'too_many_inputs',
  ) {
    super(code, message);
  }
}

/** A dataset name nobody has uploaded (and no bundled one has). */
export class DatasetNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(readonly datasetName: string) {
    super('dataset_not_found', `there is no dataset called "${datasetName}"`);
  }
}

/** An upload under a name a dataset already has. */
export class DatasetNameTaken extends DomainError {
  readonly kind = 'conflict';
  constructor(readonly datasetName: string) {
    super('dataset_exists', `a dataset called "${datasetName}" already exists; delete it first or choose another name`);
  }
}

/** Deleting a dataset that queued or running jobs still need. */
export class DatasetInUse extends DomainError {
  readonly kind = 'conflict';
  constructor(
    readonly datasetName: string,
    readonly jobIds: readonly string[],
  ) {
    super(
      'dataset_in_use',
      `dataset "${datasetName}" is used by ${jobIds.length} queued or running job(s): ${jobIds.join(', ')}; cancel them or wait for them to finish`,
    );
  }
}

/** Deleting a dataset that ships with the server, which is never allowed. */
export class BundledDatasetReadOnly extends DomainError {
  readonly kind = 'forbidden';
  constructor(readonly datasetName: string) {
    super('dataset_bundled', `"${datasetName}" is bundled with the server and cannot be deleted`);
  }
}

/**
 * Uploaded dataset files (or the fields describing them) that cannot become a dataset. Each issue's
 * `path` names the form field, its message starts with the position (`line 3, column 5:`, `byte 16:`).
 */
export class InvalidDataset extends DomainError {
  readonly kind = 'invalid';
  constructor(override readonly issues: readonly FieldIssue[]) {
    super(
      'invalid_dataset',
      `invalid dataset upload: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')}`,
    );
  }
}

const datasetTooLargeCodes = {
  upload: 'upload_too_large',
  storage: 'dataset_storage_full',
  owner: 'dataset_quota_exceeded',
} as const;

/**
 * An upload beyond a configured size: `what` is `upload` (bytes sent), `storage` (all datasets'
 * bytes) or `owner` (the bytes of one owner's datasets).
 */
export class DatasetTooLarge extends DomainError {
  readonly kind = 'too_large';
  declare readonly code: (typeof datasetTooLargeCodes)[keyof typeof datasetTooLargeCodes];
  constructor(
    readonly what: keyof typeof datasetTooLargeCodes,
    message: string,
  ) {
    super(datasetTooLargeCodes[what], message);
  }
}

/** A request without a usable API key: none, an unknown one or a revoked one. */
export class Unauthenticated extends DomainError {
  readonly kind = 'unauthenticated';
  constructor(message = 'this server needs an API key: send Authorization: Bearer <key>') {
    super('unauthenticated', message);
  }
}

/** A key whose role may not do this (a viewer submitting, a member managing keys). */
export class Forbidden extends DomainError {
  readonly kind = 'forbidden';
  constructor(role: string, action: string) {
    super('forbidden', `a key with role ${role} may not ${action}`);
  }
}

/** Too many requests within a limit's window; `retryAfterSeconds` says when the window ends. */
export class RateLimited extends DomainError {
  readonly kind = 'too_many_requests';
  constructor(
    readonly limit: string,
    readonly max: number,
    override readonly retryAfterSeconds: number,
  ) {
    super(
      'rate_limited',
      `rate limit exceeded: ${limit} (at most ${max} per minute); retry after ${retryAfterSeconds} s`,
    );
  }
}

/** A quota that is full right now, such as queued plus running jobs per owner. */
export class QuotaExceeded extends DomainError {
  readonly kind = 'too_many_requests';
  constructor(
    readonly quota: string,
    readonly used: number,
    readonly max: number,
  ) {
    super('quota_exceeded', `quota exceeded: ${quota} is ${used} of at most ${max}`);
  }
}

/** An API key id that names no key. */
export class ApiKeyNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(readonly keyId: string) {
    super('not_found', `API key ${keyId} was not found`);
  }
}

/** A sweep that does not exist. */
export class SweepNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(readonly sweepId: string) {
    super('not_found', `sweep ${sweepId} was not found`);
  }
}

/** A sweep spec that breaks the rules; `issues` names every bad field, a parameter by its path. */
export class InvalidSweep extends DomainError {
  readonly kind = 'invalid';
  constructor(override readonly issues: readonly FieldIssue[]) {
    super('invalid_sweep', `invalid sweep spec: ${fieldsOf(issues)}`);
  }
}

/** A change asked of a sweep that has already ended. */
export class SweepAlreadyFinished extends DomainError {
  readonly kind = 'conflict';
  constructor(
    readonly sweepId: string,
    readonly status: string,
  ) {
    super('sweep_finished', `sweep ${sweepId} has already ${hasEnded(status)}`);
  }
}

/** A webhook that does not exist, or is another owner's (which looks the same). */
export class WebhookNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(readonly webhookId: string) {
    super('not_found', `webhook ${webhookId} was not found`);
  }
}

/** A delivery that is not one of the webhook's. */
export class WebhookDeliveryNotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(readonly deliveryId: string) {
    super('not_found', `delivery ${deliveryId} was not found`);
  }
}

/** Webhooks need a key to seal their secrets with, and this server was given none. */
export class WebhooksNotConfigured extends DomainError {
  readonly kind = 'unavailable';
  constructor() {
    super(
      'webhooks_not_configured',
      'webhooks are off on this server: it needs WEBHOOK_SECRET_KEY to store their secrets',
    );
  }
}

/** A fork from an epoch whose checkpoint the run does not keep (any more); `keptEpochs` are those it does. */
export class CheckpointNotKept extends DomainError {
  readonly kind = 'conflict';
  /** The field at fault, for clients that read `issues`. */
  override readonly issues: readonly FieldIssue[];
  constructor(
    readonly jobId: string,
    readonly epoch: number | undefined,
    readonly keptEpochs: readonly number[],
  ) {
    const kept = keptEpochs.length > 0 ? `kept epochs: ${keptEpochs.join(', ')}` : 'it keeps no checkpoint yet';
    const what =
      epoch === undefined ? `job ${jobId} has no kept checkpoint` : `epoch ${epoch} of job ${jobId} is not kept`;
    super('checkpoint_not_kept', `${what}; ${kept}`);
    const keptNow = keptEpochs.length > 0 ? `kept epochs are ${keptEpochs.join(', ')}` : 'no epoch is kept yet';
    this.issues = [{ path: 'fromEpoch', message: `not kept; ${keptNow}` }];
  }
}
