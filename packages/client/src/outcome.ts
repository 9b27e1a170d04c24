import { apiErrorOf, TrainerApiError, unreachable, type TrainerError } from './errors.js';

/** What openapi-fetch resolves with: the data of a 2xx answer, or the error body of another. */
interface Answered {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** The data a call resolves with when it succeeds, typed from the operation's 2xx answers. */
export type DataOf<Call> = Call extends { data: infer Data; error?: never } ? Data : never;

/** A call's result as a value: its data, or why there is none. */
export type Outcome<Data> =
  { ok: true; data: Data; response: Response } | { ok: false; error: TrainerError; response: Response | null };

/**
 * Waits for an API call and never throws: `{ ok: true, data }`, or `{ ok: false, error }` with a
 * TrainerApiError (the server's status, `code` and `issues`) or a TrainerUnreachable. An aborted call
 * is the one exception: its AbortError is thrown, as fetch does.
 */
export async function settle<Call extends Answered>(call: Promise<Call>): Promise<Outcome<DataOf<Call>>> {
  let answered: Call;
  try {
    answered = await call;
  } catch (cause) {
    if (cause instanceof Error && cause.name === 'AbortError') throw cause;
    return { ok: false, error: cause instanceof TrainerApiError ? cause : unreachable(cause), response: null };
  }
  const { response } = answered;
  if (!response.ok) return { ok: false, error: apiErrorOf(response, answered.error), response };
  return { ok: true, data: answered.data as DataOf<Call>, response };
}

/** The data of a successful call; throws its TrainerApiError or TrainerUnreachable otherwise. */
export async function unwrap<Call extends Answered>(call: Promise<Call>): Promise<DataOf<Call>> {
  const outcome = await settle(call);
  if (!outcome.ok) throw outcome.error;
  return outcome.data;
}
