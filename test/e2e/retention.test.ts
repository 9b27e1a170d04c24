import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RetentionPreview } from '../../src/api/retention/schemas.js';
import { createJobsRepository } from '../../src/store/jobs-repository.js';
import { insertFinishedRun } from '../helpers/fixtures.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** A sample of GET /metrics, summed over its labels (every worker's and the API's). */
function metric(text: string, name: string): number {
  return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

describe('retention with a real worker', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('retention_e2e', {
      RETENTION_INTERVAL_SECONDS: '1',
      METRICS_PUBLISH_MS: '200',
      LOG_LEVEL: 'info',
    });
  }, 60_000);
  afterAll(() => stack?.stop());

  it('purges what the preview listed on its schedule and counts it in GET /metrics', async () => {
    const { address } = stack.api;
    const jobs = createJobsRepository(stack.database.prisma);
    // The purge is already scheduled; these expire as they are aged, between two of its turns or during one.
    const expired = await insertFinishedRun(jobs, { retention: { days: 1 } });
    const kept = await insertFinishedRun(jobs, { retention: { days: 3 } });
    await stack.database.prisma.$executeRaw`
      UPDATE jobs SET finished_at = now() - interval '2 days' WHERE id IN (${expired.id}::uuid, ${kept.id}::uuid)`;
    const preview = (await (await fetch(`${address}/retention/preview`)).json()) as RetentionPreview;
    // The purge may have taken it already; if not, the preview lists it and nothing else.
    expect(preview.runs.map((run) => run.id).filter((id) => id !== expired.id)).toEqual([]);

    let scraped = '';
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      scraped = await (await fetch(`${address}/metrics`)).text();
      if (metric(scraped, 'trainer_retention_deleted_runs_total') >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(metric(scraped, 'trainer_retention_deleted_runs_total')).toBe(1);
    expect(metric(scraped, 'trainer_retention_deleted_bytes_total')).toBeGreaterThan(0);
    expect((await fetch(`${address}/jobs/${expired.id}`)).status).toBe(404);
    expect((await fetch(`${address}/jobs/${kept.id}`)).status).toBe(200);
    expect(stack.worker.output()).toContain('retention: deleted a batch of expired runs');
  });
});
