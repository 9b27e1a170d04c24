import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobs/schemas.js';
import { chromiumMissing, launchChromium } from '../../src/bench/browser.js';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import { createJobsRepository, type JobsRepository } from '../../src/store/jobs-repository.js';
import { ensureDashboardBuilt, openPage as openTab, screenshot } from '../helpers/browser.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';
import { insertFinishedRun } from '../helpers/fixtures.js';

// The run page's retention line in Debian's chromium, against the API on runs written to the store.
const missing = chromiumMissing();
if (missing) console.warn(`skipping the retention browser test: ${missing}`);

describe.skipIf(missing !== null)("a run's retention on the run page", () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let jobs: JobsRepository;
  let browser: Browser;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    database = await createTestDatabase('web_retention');
    jobs = createJobsRepository(database.prisma);
    [api, browser] = await Promise.all([startApi(testConfig(database.url), silentLogger()), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await database?.drop();
  });

  const send = async (method: string, path: string, body: unknown) =>
    (await fetch(`${api.address}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then((response) => response.json())) as JobView;

  it('says when a run expires and why, that a pinned run is kept, and that a run kept forever is', async () => {
    // With AUTH=off every run is the local owner's, and the local user is an admin.
    await send('PUT', '/owners/local/settings', { retentionDays: 30, maxDurationSeconds: null });
    const run = await insertFinishedRun(jobs, { name: 'expiring' });
    const job = (await (await fetch(`${api.address}/jobs/${run.id}`)).json()) as JobView;
    expect(job.retention).toEqual({ days: 30, source: 'owner' });

    const { page, errors } = await openTab(browser, `${api.address}/runs/${run.id}`);
    const line = page.locator('.facts .retention');
    await line.waitFor();
    const expires = new Date(job.expiresAt!).toLocaleDateString(undefined, { dateStyle: 'medium' });
    expect(await line.textContent()).toBe(`expires on ${expires} (retention 30 days, from owner default)`);
    await screenshot(page, 'run-retention');
    // The runs list marks it too.
    await page.goto(`${api.address}/runs`);
    const tag = page.locator('.tag.expires');
    await tag.waitFor();
    expect(await tag.textContent()).toBe(`expires ${expires}`);
    await screenshot(page, 'runs-retention');
    await page.goto(`${api.address}/runs/${run.id}`);

    await send('PATCH', `/jobs/${run.id}`, { pinned: true });
    await page.reload();
    await page.locator('.facts .retention', { hasText: 'kept: pinned' }).waitFor();

    const forever = await insertFinishedRun(jobs, { name: 'forever', retention: { days: null } });
    await page.goto(`${api.address}/runs/${forever.id}`);
    await page.locator('.facts .retention', { hasText: 'kept forever (set on the run)' }).waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });
});
