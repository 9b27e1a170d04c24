import type { operations } from '@trainer/client';
import { api, early, prefetch, unwrap } from '../../api';

type RunQuery = NonNullable<operations['listJobs']['parameters']['query']>;

const queryKeys = [
  'status',
  'dataset',
  'name',
  'tag',
  'pinned',
  'notes',
  'owner',
  'sort',
  'order',
  'limit',
  'cursor',
] as const;

/**
 * The page URL's own parameters of GET /jobs, passed on as they are: the API answers a bad one with a
 * 400 that names it, which the page shows.
 */
export function runQuery(query: URLSearchParams): RunQuery {
  const picked: Record<string, string> = {};
  for (const key of queryKeys) {
    const value = query.get(key);
    if (value) picked[key] = value;
  }
  return picked;
}

/** The runs page's URL with `changes` made to its query (null or '' removes a parameter). */
export function withQuery(query: URLSearchParams, changes: Record<string, string | null>): string {
  const next = new URLSearchParams(query);
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === '') next.delete(key);
    else next.set(key, value);
  }
  const text = next.toString();
  return text ? `/runs?${text}` : '/runs';
}

const listName = (query: RunQuery) => `/jobs?${new URLSearchParams(query).toString()}`;
const readList = (query: RunQuery) => unwrap(api.GET('/jobs', { params: { query } }));

/** GET /jobs for the page URL's query; the prefetched answer when there is one. */
export const readRuns = (query: RunQuery) => early(listName(query), () => readList(query));

/** Asks for the first page while the page is still starting, so the list shows sooner. */
export function prefetchRuns(query: URLSearchParams): void {
  const runs = runQuery(query);
  prefetch(listName(runs), () => readList(runs));
}
