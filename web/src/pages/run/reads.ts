import { api, early, prefetch, unwrap } from '../../api';
import { prefetchHistory } from '../../history';

const read = (id: string) => unwrap(api.GET('/jobs/{id}', { params: { path: { id } } }));

/** GET /jobs/:id; the prefetched answer when there is one. */
export const readJob = (id: string) => early(`/jobs/${id}`, () => read(id));

/** Asks for a run's job and history while the page's code is still loading. */
export function prefetchRun(id: string): void {
  prefetch(`/jobs/${id}`, () => read(id));
  prefetchHistory(id);
}
