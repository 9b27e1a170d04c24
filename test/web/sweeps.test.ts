import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepView } from '../../src/api/sweeps/schemas.js';
import { chromiumMissing, launchChromium } from '../../src/bench/browser.js';
import {
  connectionStatesAfterDrop,
  ensureDashboardBuilt,
  openPage as openTab,
  screenshot,
} from '../helpers/browser.js';
import { smallSpec } from '../helpers/specs.js';
import { startStack, type Stack } from '../helpers/stack.js';

// The sweep pages in Debian's chromium against the real server: the API in this process serving the
// built dashboard, a worker process launching the sweep's runs and training them on slices of MNIST.
const missing = chromiumMissing();
if (missing) console.warn(`skipping the sweep pages' browser tests: ${missing}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A grid of 4 small configurations, one run at a time, so the page has something to follow. */
const gridSweep = {
  name: 'lr-width grid',
  seed: 1,
  base: smallSpec({ trainSamples: 1000, testSamples: 200, validationSamples: 200, batchSize: 50, epochs: 2 }),
  method: 'grid',
  parameters: {
    learningRate: { values: [0.1, 0.002] },
    'model.layers[0].units': { values: [16, 64] },
  },
  maxParallel: 1,
  objective: { metric: 'validationAccuracy', goal: 'maximize' },
};

describe.skipIf(missing !== null)('the sweep pages in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let address: string;
  let sweepId: string;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    [stack, browser] = await Promise.all([startStack('web_sweeps'), launchChromium()]);
    address = stack.api.address;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const openPage = (path: string, width?: number) => openTab(browser, `${address}${path}`, width);

  async function createSweep(body: object): Promise<SweepView> {
    const response = await fetch(`${address}/sweeps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as SweepView;
  }

  async function sweepOf(id: string): Promise<SweepView> {
    return (await (await fetch(`${address}/sweeps/${id}`)).json()) as SweepView;
  }

  /** Pixels of the chart's canvas that something was drawn on. */
  function drawnPixels(page: Page): Promise<number> {
    return page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('.parallel-chart canvas');
      const context = canvas?.getContext('2d');
      if (!canvas || !context) return 0;
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let count = 0;
      for (let index = 3; index < data.length; index += 4) if (data[index]! > 0) count += 1;
      return count;
    });
  }

  it('follows a sweep live, through a broken connection, until it ends; then ranks its runs and draws one line per run', async () => {
    const created = await createSweep(gridSweep);
    sweepId = created.id;
    const { page, errors } = await openPage(`/runs/sweeps/${sweepId}`);
    await page.locator('article.sweep').waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('lr-width grid');

    // Break the socket while the sweep runs: the page says so, then reconnects.
    await page.locator('[data-connection="live"]').waitFor();
    const states = await connectionStatesAfterDrop(page, 'article.sweep [data-connection]');
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toMatch(/live|closed/);

    // Watch the counts until the sweep ends: they move on the page without a reload.
    const ended = new Set<number>();
    let shotRunning = false;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const status = await page.locator('article.sweep').getAttribute('data-status');
      ended.add(Number(await page.locator('.facts .sweep-counts').getAttribute('data-ended')));
      if (!shotRunning && ended.has(1)) {
        await screenshot(page, 'sweep-running');
        shotRunning = true;
      }
      if (status !== 'running') break;
      if (Date.now() > deadline) throw new Error('the sweep page never showed the sweep ending');
      await sleep(100);
    }
    const sweep = await sweepOf(sweepId);
    expect(sweep.status).toBe('completed');
    expect(await page.locator('article.sweep').getAttribute('data-status')).toBe('completed');
    expect([...ended].filter((count) => count > 0 && count < 4).length).toBeGreaterThan(0);
    await page.waitForFunction(
      () => document.querySelector('.facts .sweep-counts')?.getAttribute('data-ended') === '4',
    );

    // The leaderboard: every run, best objective first, in the API's order.
    const rows = page.locator('table.leaderboard tbody tr');
    expect(await rows.count()).toBe(4);
    const shown = await rows.evaluateAll((trs) =>
      trs.map((tr) => ({
        run: tr.getAttribute('data-run'),
        objective: Number(tr.querySelector('[data-objective]')?.getAttribute('data-objective')),
      })),
    );
    expect(shown.map((row) => row.run)).toEqual(sweep.leaderboard.map((entry) => entry.jobId));
    const objectives = shown.map((row) => row.objective);
    expect(objectives).toEqual([...objectives].sort((a, b) => b - a));

    // The chart: one series per run, the best marked, and something drawn on the canvas.
    const chart = page.locator('.parallel-chart');
    await page.locator('.parallel-chart canvas').waitFor();
    await page.waitForFunction(() => document.querySelector('.parallel-chart')?.getAttribute('data-series') === '4');
    expect(await chart.getAttribute('data-best')).toBe(sweep.best?.jobId);
    expect(await drawnPixels(page)).toBeGreaterThan(2000);
    await screenshot(page, 'sweep-completed');

    // Pointing at the top of the objective's axis (the best value) names the best run.
    const plotArea = (await page.locator('.parallel-chart .u-over').boundingBox())!;
    await page.mouse.move(plotArea.x + plotArea.width - 1, plotArea.y + 2);
    await page.locator('.readout strong', { hasText: '#1 run' }).waitFor();
    await page.mouse.move(0, 0);
    // So does the keyboard: a leaderboard link in focus brings its run forward.
    await rows.nth(1).locator('a').focus();
    await page.locator('.readout strong', { hasText: '#2 run' }).waitFor();
    expect(await rows.nth(1).getAttribute('class')).toContain('focused');
    await screenshot(page, 'sweep-row-focused');

    // Compare the top runs, then the best run's own page.
    const compare = page.getByRole('link', { name: 'Compare top 4 runs' });
    expect(await compare.getAttribute('href')).toBe(
      `/runs/compare?ids=${sweep.leaderboard.map((entry) => entry.jobId).join(',')}`,
    );
    await page.locator('.best-run a').click();
    await page.waitForURL(`${address}/runs/${sweep.best?.jobId}`);
    await page.locator('article.run[data-status="completed"]').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lists the sweep with its status, objective, best value and counts, and opens it', async () => {
    const { page, errors } = await openPage('/runs/sweeps');
    const row = page.locator(`table.sweeps tr[data-sweep="${sweepId}"]`);
    await row.waitFor();
    const sweep = await sweepOf(sweepId);
    expect(await row.getAttribute('data-status')).toBe('completed');
    expect(await row.locator('.best').textContent()).toBe(`${((sweep.best?.objective ?? 0) * 100).toFixed(2)}%`);
    expect(await row.locator('.sweep-counts').textContent()).toMatch(/^4 of 4 ended: 4 completed/);
    expect(await page.locator('nav[aria-label="Pages"] a[aria-current="page"]').textContent()).toBe('Sweeps');
    await screenshot(page, 'sweeps');
    await row.getByRole('link', { name: 'lr-width grid' }).click();
    await page.waitForURL(`${address}/runs/sweeps/${sweepId}`);
    // The page's own URL works after a reload.
    await page.reload();
    await page.locator('table.leaderboard tbody tr').nth(3).waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('cancels a running sweep from its page', async () => {
    const created = await createSweep({
      ...gridSweep,
      name: 'to cancel',
      base: smallSpec({ trainSamples: 20000, testSamples: 200, validationSamples: 200, batchSize: 16, epochs: 3 }),
    });
    const { page, errors } = await openPage(`/runs/sweeps/${created.id}`);
    page.on('dialog', (dialog) => void dialog.accept());
    await page.locator('table.leaderboard tbody tr').first().waitFor();
    await page.getByRole('button', { name: 'Cancel sweep' }).click();
    await page.locator('article.sweep[data-status="cancelled"]').waitFor({ timeout: 30_000 });
    expect((await sweepOf(created.id)).status).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Cancel sweep' }).count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is usable at phone width', async () => {
    for (const path of [`/runs/sweeps/${sweepId}`, '/runs/sweeps']) {
      const { page, errors } = await openPage(path, 390);
      await page.locator('table tbody tr').first().waitFor();
      if (path !== '/runs/sweeps') await page.locator('.parallel-chart canvas').waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(1);
      await screenshot(page, path === '/runs/sweeps' ? 'sweeps-phone' : 'sweep-phone');
      expect(errors).toEqual([]);
      await page.close();
    }
  });
});
