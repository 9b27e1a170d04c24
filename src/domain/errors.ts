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
