// The dashboard's way to the API: the typed client of packages/client, whose types are generated
// from the server's OpenAPI document. No shape of the API is declared here by hand.
import {
  createTrainerClient,
  settle,
  TrainerApiError,
  unwrap,
  type Dataset,
  type DataOf,
  type JobStatus,
} from '@trainer/client';
import { authHeaders, currentKey, keyRefused } from './auth';

export { TrainerApiError, unwrap };

/** The API on this page's origin, with the key this dashboard holds (auth.ts). */
export const trainer = createTrainerClient({ baseUrl: location.origin, apiKey: currentKey });
export const api = trainer.api;

const keyOf = (request: Request): string | null =>
  request.headers.get('authorization')?.replace(/^Bearer /, '') ?? null;

/** Tells the dashboard a 401 came, with the server's reason: it then asks for a key. */
async function reportRefusal(response: Response, usedKey: string | null): Promise<void> {
  const body: unknown = await response
    .clone()
    .json()
    .catch(() => null);
  keyRefused(TrainerApiError.from(401, body).message, usedKey);
}

// A 401 makes the dashboard ask for a key; the answer still goes to the caller, as any other.
api.use({
  async onResponse({ request, response }) {
    if (response.status === 401) await reportRefusal(response, keyOf(request));
    return undefined;
  },
});

/** Statuses in the order the runs page offers them as filters. */
export const jobStatuses = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const satisfies JobStatus[];
// Fails to compile when the API gains a status the list above lacks.
const everyStatus: Exclude<JobStatus, (typeof jobStatuses)[number]> extends never ? true : never = true;
void everyStatus;

export const finished = (status: JobStatus) => status === 'completed' || status === 'failed' || status === 'cancelled';

/** The message of a failed call, for a person. */
export const failureText = (failure: unknown): string => (failure instanceof Error ? failure.message : String(failure));

/** The data of a call, or null for the answers that mean "this capability or thing is not there (yet)". */
export async function optional<Call extends { data?: unknown; error?: unknown; response: Response }>(
  call: Promise<Call>,
): Promise<DataOf<Call> | null> {
  const outcome = await settle(call);
  if (outcome.ok) return outcome.data;
  if (outcome.error instanceof TrainerApiError && [404, 405, 409, 501].includes(outcome.error.status)) return null;
  throw outcome.error;
}

const prefetched = new Map<string, { key: string | null; answer: Promise<unknown> }>();

/**
 * Starts a read while the page's code is still loading; the first `early` of the same name (with the
 * same key) takes its answer instead of asking again.
 */
export function prefetch(name: string, read: () => Promise<unknown>): void {
  const answer = read();
  answer.catch(() => undefined);
  prefetched.set(name, { key: currentKey(), answer });
}

/** The answer `prefetch(name)` started, if it is still to be had with the current key; `read()` otherwise. */
export function early<Data>(name: string, read: () => Promise<Data>): Promise<Data> {
  const started = prefetched.get(name);
  prefetched.delete(name);
  if (started && started.key === currentKey()) return started.answer as Promise<Data>;
  return read();
}

/**
 * POST /datasets with the key held, reporting the fraction of the form sent so far (XMLHttpRequest
 * reports upload progress; fetch does not). Rejects with a TrainerApiError for an answer other than 2xx.
 */
export function uploadDataset(body: FormData, onProgress: (sent: number | null) => void): Promise<Dataset> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/datasets');
    const key = currentKey();
    for (const [name, value] of Object.entries({ accept: 'application/json', ...authHeaders(key) }))
      request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onProgress(event.lengthComputable ? event.loaded / event.total : null);
    request.onload = () => {
      let answer: unknown = null;
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        // Not JSON (a proxy's page): the status says what happened.
      }
      if (request.status >= 200 && request.status < 300) return resolve(answer as Dataset);
      const error = TrainerApiError.from(request.status, answer, request.getResponseHeader('retry-after'));
      if (request.status === 401) keyRefused(error.message, key);
      reject(error);
    };
    request.onerror = () => reject(new Error('the connection broke before the upload was answered'));
    request.send(body);
  });
}

/** fetch of an API path with the key held: for what the browser would fetch by itself (links, images). */
export async function fetchWithKey(path: string): Promise<Response> {
  const key = currentKey();
  const response = await fetch(path, { headers: authHeaders(key) });
  if (response.status === 401) await reportRefusal(response, key);
  return response;
}
