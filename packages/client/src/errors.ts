import type { ErrorBody, FieldIssue } from './types.js';

/**
 * The server answered, but not with success: its status, and what its error body says (a stable
 * `code`, a message for people, and `issues` naming each bad field of the request).
 */
export class TrainerApiError extends Error {
  override readonly name = 'TrainerApiError';
  readonly status: number;
  /** The server's code (`not_found`, `invalid_spec`, ...); `http_<status>` when the answer had no error body. */
  readonly code: string;
  readonly issues: readonly FieldIssue[];
  /** Seconds the server asked to wait before trying again (Retry-After of a 429 or 503), or null. */
  readonly retryAfterSeconds: number | null;

  constructor(status: number, body: ErrorBody | null, retryAfterSeconds: number | null = null) {
    super(body?.error ?? `the server answered ${status}`);
    this.status = status;
    this.code = body?.code ?? `http_${status}`;
    this.issues = body?.issues ?? [];
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /**
   * The error of an answer with `status` whose body was `body` (parsed JSON, text, or nothing: only an
   * error body's fields are read), and whose Retry-After header was `retryAfter`.
   */
  static from(status: number, body: unknown, retryAfter: string | null = null): TrainerApiError {
    return new TrainerApiError(status, isErrorBody(body) ? body : null, retryAfterSeconds(retryAfter));
  }

  /** The messages of the issues that name `path` (`learningRate`, `model.layers.2.units`). */
  issuesAt(path: string): string[] {
    return this.issues.filter((issue) => issue.path === path).map((issue) => issue.message);
  }
}

/** No answer: the server could not be reached, or the connection broke before it answered. */
export class TrainerUnreachable extends Error {
  override readonly name = 'TrainerUnreachable';
  /** No status: nothing answered. */
  readonly status = null;
  readonly code = 'unreachable';
  readonly issues: readonly FieldIssue[] = [];
}

/** Why a call did not succeed. */
export type TrainerError = TrainerApiError | TrainerUnreachable;

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const { error, code, issues } = value as Record<string, unknown>;
  return typeof error === 'string' && typeof code === 'string' && (issues === undefined || Array.isArray(issues));
}

function retryAfterSeconds(header: string | null): number | null {
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** The error of an answer other than 2xx; `body` is what it carried (parsed JSON, text, or nothing). */
export function apiErrorOf(response: Response, body: unknown): TrainerApiError {
  return TrainerApiError.from(response.status, body, response.headers.get('retry-after'));
}

/** A failure to get any answer (fetch's TypeError, a refused connection), as a TrainerUnreachable. */
export function unreachable(cause: unknown): TrainerUnreachable {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new TrainerUnreachable(`could not reach the trainer API: ${reason}`, { cause });
}
