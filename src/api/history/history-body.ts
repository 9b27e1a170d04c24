import type { History } from '../jobs/job-reads.js';

/**
 * The JSON body of GET /jobs/:id/history (schemas/history.ts), produced a page of steps at a time
 * so a long history is never held whole; the counts come last, once the steps are out.
 */
export async function* historyBody(history: History): AsyncGenerator<string> {
  yield `{"jobId":${JSON.stringify(history.jobId)},"downsampling":${JSON.stringify(history.downsampling)},"steps":[`;
  let count = 0;
  for await (const page of history.steps) {
    if (page.length === 0) continue;
    // Pages hold { step, epoch, loss } rows only: one array's JSON, without its brackets.
    yield (count > 0 ? ',' : '') + JSON.stringify(page).slice(1, -1);
    count += page.length;
  }
  const lineage = history.lineage ? `,"lineage":${JSON.stringify(history.lineage)}` : '';
  yield `],"count":${count},"totalSteps":${history.totalSteps ?? count}${lineage}}`;
}
