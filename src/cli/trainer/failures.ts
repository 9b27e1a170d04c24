import { TrainerApiError, TrainerUnreachable } from '@trainer/client';
import { exitCodes, Interrupted, RunDidNotComplete, UsageError, type FieldProblem } from './exit-codes.js';
import type { Output } from './output.js';

/** The problems as lines, each field beside its message, under the file they are in when there is one. */
function problemLines(problems: readonly FieldProblem[], source?: string): string[] {
  return problems.map(
    ({ path, message }) => `  ${source ? `${source}: ` : ''}${path || '(the whole spec)'}: ${message}`,
  );
}

/**
 * Tells the user why a command did not succeed, never with a stack trace, and returns the exit
 * code: 2 for bad input or a 4xx refusal (with the server's issues by field), 3 when the server
 * could not be reached, 1 for a run that did not complete or a server failure, 130 when interrupted.
 * `source` is the spec file a refusal is about, if any; `url` the API that was asked.
 */
export function report(error: unknown, output: Output, source?: string, url?: string): number {
  if (error instanceof UsageError) {
    if (output.json) output.warn(JSON.stringify({ error: error.message, code: 'usage', issues: error.problems }));
    else output.warn([`trainer: ${error.message}`, ...problemLines(error.problems, error.source)].join('\n'));
    return exitCodes.usage;
  }
  if (error instanceof TrainerApiError) {
    if (output.json) {
      output.warn(
        JSON.stringify({ error: error.message, code: error.code, status: error.status, issues: error.issues }),
      );
    } else {
      const about = source ? ` (${source})` : '';
      output.warn(
        [`trainer: ${error.message}${about} [${error.code}]`, ...problemLines(error.issues, source)].join('\n'),
      );
    }
    return error.status >= 400 && error.status < 500
      ? exitCodes.usage
      : error.status === 503
        ? exitCodes.unreachable
        : exitCodes.failed;
  }
  if (error instanceof TrainerUnreachable) {
    const where = url ? ` (${url}; set --url or TRAINER_URL)` : '';
    output.warn(
      output.json
        ? JSON.stringify({ error: error.message, code: error.code, url })
        : `trainer: ${error.message}${where}`,
    );
    return exitCodes.unreachable;
  }
  if (error instanceof RunDidNotComplete) return exitCodes.failed;
  if (error instanceof Interrupted) return exitCodes.interrupted;
  const message = error instanceof Error ? error.message : String(error);
  output.warn(output.json ? JSON.stringify({ error: message, code: 'error' }) : `trainer: ${message}`);
  return exitCodes.failed;
}
