/** What `trainer` exits with; documented in the README's "From the terminal". */
export const exitCodes = {
  /** Done; a followed job or sweep completed. */
  ok: 0,
  /** A followed job failed or was cancelled (or the server failed a request). */
  failed: 1,
  /** The command line or a spec file was wrong, or the server refused the request (4xx). */
  usage: 2,
  /** No answer from the server. */
  unreachable: 3,
  /** Ctrl-C. */
  interrupted: 130,
} as const;

/** A field of the input and what is wrong with it. */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Bad input found before anything was sent: an option, a spec file that is not JSON. `source`
 * names the file the problems are in.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    readonly problems: readonly FieldProblem[] = [],
    readonly source?: string,
  ) {
    super(message);
  }
}

/** A followed job or sweep that ended other than completed: exit 1 once its summary is out. */
export class RunDidNotComplete extends Error {
  override readonly name = 'RunDidNotComplete';
}

/** Ctrl-C while following: the job goes on (unless asked to cancel it); exit 130. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}
