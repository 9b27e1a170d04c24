// The JSON shapes the dashboard reads, as the API's zod schemas (src/api/schemas) define them. The
// dashboard is built for the browser on its own and talks to the API over HTTP only, so it declares the
// few fields it uses here instead of importing the server's schemas (which pull in zod and Node code).

// Step and epoch shapes are plain types with no imports, so the dashboard shares the server's.
import type { EpochMetrics, StepLoss } from '../../src/domain/metrics';
import { authHeaders, currentKey, keyRefused } from './auth';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const jobStatuses: JobStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];
export const finished = (status: JobStatus) => status === 'completed' || status === 'failed' || status === 'cancelled';

export type { EpochMetrics, StepLoss };

/** A layer of a spec: dense and dropout today; other types (conv, pooling) are shown as they come. */
export interface LayerSpec {
  type: string;
  units?: number;
  activation?: string;
  rate?: number;
  [field: string]: unknown;
}

export interface JobSpec {
  name?: string;
  tags?: string[];
  dataset?: string;
  seed?: number;
  trainSamples?: number;
  testSamples?: number;
  model: { layers: LayerSpec[] };
  epochs: number;
  learningRate: number;
  batchSize: number;
  optimizer?: string;
}

export interface JobView {
  id: string;
  name: string | null;
  status: JobStatus;
  dataset: string;
  spec: JobSpec;
  backend: string | null;
  parameterCount: number;
  attempts: number;
  progress: { epoch: number; step: number; totalSteps: number; fraction: number };
  metrics: { epochs: EpochMetrics[] };
  error: string | null;
  tags: string[];
  architecture: string;
  finalTestAccuracy: number | null;
  bestTestAccuracy: number | null;
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
}

export interface RunSummary {
  id: string;
  name: string | null;
  status: JobStatus;
  dataset: string;
  tags: string[];
  architecture: string;
  parameterCount: number;
  hyperparameters: { epochs: number; learningRate: number; batchSize: number; optimizer: string };
  epochsCompleted: number;
  finalTestAccuracy: number | null;
  bestTestAccuracy: number | null;
  durationMs: number | null;
  backend: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface RunList {
  runs: RunSummary[];
  nextCursor: string | null;
}

export interface HistoryBody {
  jobId: string;
  downsampling: 'lttb' | null;
  steps: StepLoss[];
  count: number;
  totalSteps: number;
}

export interface Comparison {
  runs: {
    id: string;
    label: string;
    name: string | null;
    status: JobStatus;
    architecture: string;
    parameterCount: number;
    hyperparameters: Record<string, string | number | null>;
    finalTestAccuracy: number | null;
    bestTestAccuracy: number | null;
    finalTestLoss: number | null;
    epochsCompleted: number;
    trainingMs: number;
    samplesPerSecond: number | null;
    backend: string | null;
  }[];
  differingHyperparameters: string[];
  sharedHyperparameters: Record<string, string | number | null>;
  architecture: { runs: string[]; layers: { index: number; same: boolean; byRun: (string | null)[] }[] };
  curves: {
    points: number;
    runs: { id: string; label: string; points: { step: number; epochFraction: number; loss: number }[] }[];
  };
}

/** GET /jobs/:id/evaluation (trained models): the test pass of one epoch, class by class. */
export interface Evaluation {
  epoch: number;
  classCount: number;
  count: number;
  correct: number;
  accuracy: number | null;
  /** [true label][predicted label] = test examples. */
  confusionMatrix: number[][];
  classes: {
    label: number;
    support: number;
    predicted: number;
    precision: number | null;
    recall: number | null;
    f1: number | null;
  }[];
  macro?: { precision: number | null; recall: number | null; f1: number | null };
  mistakes: { index: number; trueLabel: number; predictedLabel: number; confidence: number }[];
}

export interface Prediction {
  label: number;
  className?: string;
  probabilities: { label: number; probability: number }[];
}

/** One line of GET /datasets, and the dataset an upload answers with. */
export interface DatasetSummary {
  name: string;
  description: string;
  bundled: boolean;
  /** One example, e.g. [28, 28, 1]; dense layers see it flattened. */
  inputShape: number[];
  numClasses: number;
  trainSize: number;
  testSize: number;
  /** Stored size; null for bundled datasets. */
  bytes: number | null;
  createdAt: string | null;
}

/** GET /datasets/:name: a dataset's summary with what it holds; the dashboard reads a few fields. */
export interface DatasetView extends DatasetSummary {
  format: 'bundled' | 'idx' | 'csv';
  classes: { label: number; name: string | null }[];
  /** Of the train split, after `scale` (stored value * scale); min and max are null for bundled ones. */
  statistics: { scale: number; min: number | null; max: number | null };
}

export interface FieldIssue {
  path: string;
  message: string;
}

/** GET /whoami: who the key held acts as; with AUTH=off, the local admin. */
export interface Whoami {
  owner: string;
  role: 'viewer' | 'member' | 'admin';
  auth: 'off' | 'required';
}

export interface ErrorBody {
  error: string;
  code: string;
  issues?: FieldIssue[];
}

/** An answer other than 2xx, with the API's error body when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody | null,
  ) {
    super(body?.error ?? `HTTP ${status}`);
  }
}

async function errorOf(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => null)) as ErrorBody | null;
  return new ApiError(response.status, body);
}

/**
 * fetch with the key held (see auth.ts). A 401 makes the dashboard ask for a key; the answer is
 * returned as it is, for the caller to handle as any other.
 */
export async function apiFetch(
  url: string,
  init: Omit<RequestInit, 'headers'> & { headers?: Record<string, string> } = {},
): Promise<Response> {
  const key = currentKey();
  const response = await fetch(url, { ...init, headers: { ...authHeaders(key), ...init.headers } });
  if (response.status === 401) {
    const body = (await response
      .clone()
      .json()
      .catch(() => null)) as ErrorBody | null;
    keyRefused(body?.error ?? 'this server needs an API key', key);
  }
  return response;
}

const prefetched = new Map<string, { key: string | null; request: Promise<unknown> }>();

/**
 * Starts a GET while the page's code is still loading; the first getJson of the same URL (with the
 * same key) takes its answer instead of asking again.
 */
export function prefetchJson(url: string): void {
  const request = fetchJson(url);
  request.catch(() => undefined);
  prefetched.set(url, { key: currentKey(), request });
}

/** GET a JSON document; throws ApiError for any answer other than 2xx. */
export function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const early = prefetched.get(url);
  prefetched.delete(url);
  if (early && early.key === currentKey()) return early.request as Promise<T>;
  return fetchJson<T>(url, signal);
}

async function fetchJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const response = await apiFetch(url, { headers: { accept: 'application/json' }, signal: signal ?? null });
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as T;
}

/** GET that answers null for the statuses that mean "this capability or thing is not there (yet)". */
export async function getOptional<T>(url: string, signal?: AbortSignal): Promise<T | null> {
  try {
    return await getJson<T>(url, signal);
  } catch (error) {
    if (error instanceof ApiError && [404, 405, 409, 501].includes(error.status)) return null;
    throw error;
  }
}

export async function sendJson<T>(
  method: 'POST' | 'DELETE',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const json: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  const init = {
    method,
    headers: { accept: 'application/json', ...json, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  };
  const response = await apiFetch(url, init);
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * POSTs a multipart form with the key held, reporting the fraction of it sent so far (XMLHttpRequest
 * reports upload progress; fetch does not). Throws ApiError for an answer other than 2xx, as sendJson.
 */
export function sendForm<T>(url: string, body: FormData, onProgress: (sent: number | null) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', url);
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
      if (request.status >= 200 && request.status < 300) return resolve(answer as T);
      const body = answer as ErrorBody | null;
      if (request.status === 401) keyRefused(body?.error ?? 'this server needs an API key', key);
      reject(new ApiError(request.status, body));
    };
    request.onerror = () => reject(new Error('the connection broke before the upload was answered'));
    request.send(body);
  });
}

export const cancelJob = (id: string) => sendJson<JobView>('POST', `/jobs/${id}/cancel`);
export const deleteJob = (id: string) => sendJson<unknown>('DELETE', `/jobs/${id}`);

/** ws:// or wss:// URL of an API path on this origin. */
export function socketUrl(path: string): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}
