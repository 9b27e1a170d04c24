import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, RunList } from '../../src/api/schemas/job.js';
import { chromiumMissing, launchChromium } from '../../src/bench/browser.js';
import { collectPageErrors, ensureDashboardBuilt, screenshot } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';

// The dashboard in Debian's chromium against the real server: the API in this process serving the
// built dashboard, a worker process training real (small) jobs on MNIST.
const missing = chromiumMissing();
if (missing) console.warn(`skipping the dashboard's browser tests: ${missing}`);

const terminal = ['completed', 'failed', 'cancelled'];

describe.skipIf(missing !== null)('the dashboard in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let address: string;
  const finishedRuns: string[] = [];

  beforeAll(async () => {
    await ensureDashboardBuilt();
    [stack, browser] = await Promise.all([startStack('web_dashboard'), launchChromium()]);
    address = stack.api.address;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function openPage(path: string, width = 1280): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    const errors = collectPageErrors(page);
    await page.goto(`${address}${path}`);
    return { page, errors };
  }

  async function submit(spec: object): Promise<string> {
    const response = await fetch(`${address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as JobView).id;
  }

  async function job(id: string): Promise<JobView> {
    return (await (await fetch(`${address}/jobs/${id}`)).json()) as JobView;
  }

  async function untilFinished(id: string): Promise<JobView> {
    for (;;) {
      const current = await job(id);
      if (terminal.includes(current.status)) return current;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The loss chart's count of points and last step, as the page holds them. */
  async function curveOf(page: Page): Promise<{ points: number; lastStep: number }> {
    // Both read at once: the curve may grow between two separate reads.
    return page.evaluate(() => {
      const chart = document.querySelector('.loss-chart');
      return {
        points: Number(chart?.getAttribute('data-points')),
        lastStep: Number(chart?.getAttribute('data-last-step')),
      };
    });
  }

  it('shows the API’s 400 issues beside the fields they name', async () => {
    const { page, errors } = await openPage('/runs/new');
    await page.getByLabel('Learning rate').fill('0');
    await page.locator('input[name="model.layers.2.units"]').fill('7');
    await page.getByRole('button', { name: 'Submit job' }).click();

    const rateError = page.locator('[data-path="learningRate"]');
    await rateError.waitFor();
    expect(await rateError.textContent()).toMatch(/greater than 0|too small|>0/i);
    // Beside its field: in the same field box, and the input points at it.
    expect(await page.locator('.field:has(#field-learningRate) .field-error').count()).toBe(1);
    expect(await page.getByLabel('Learning rate').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Learning rate').getAttribute('aria-describedby')).toBe('learningRate-error');
    const unitsError = page.locator('li[data-layer="2"] [data-path="model.layers.2.units"]');
    expect(await unitsError.textContent()).toMatch(/10 units/);
    await screenshot(page, 'new-job-errors');
    expect(((await (await fetch(`${address}/jobs`)).json()) as RunList).runs).toHaveLength(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('submits the exercise’s first network from the form, once on a double click, and draws its curve as it grows', async () => {
    const { page, errors } = await openPage('/runs/new');
    await page.getByRole('button', { name: 'mlp 784-512-512-10' }).click();
    expect(await page.locator('[data-parameters]').getAttribute('data-parameters')).toBe('669706');
    await page.getByLabel('Training examples').fill('2000');
    await page.getByLabel('Test examples').fill('500');
    await page.getByLabel('Epochs').fill('2');
    await page.getByRole('button', { name: 'Submit job' }).dblclick();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;

    // Watch the curve: record what the chart holds until the job ends.
    const seen = new Set<number>();
    for (;;) {
      seen.add((await curveOf(page)).points);
      if ((await page.locator('article.run').getAttribute('data-status')) === 'completed') break;
      await page.waitForTimeout(50);
    }
    const finished = await untilFinished(id);
    expect(finished.status).toBe('completed');
    expect(finished.spec).toMatchObject({ trainSamples: 2000, testSamples: 500, epochs: 2, learningRate: 0.01 });
    expect(finished.architecture).toBe('784-512-512-10');
    await page.waitForFunction(
      (total) => document.querySelector('.loss-chart')?.getAttribute('data-last-step') === String(total),
      finished.progress.totalSteps,
    );
    const curve = await curveOf(page);
    // Every step once: points 1..N with nothing missing or repeated.
    expect(curve).toEqual({ points: finished.progress.totalSteps, lastStep: finished.progress.totalSteps });
    expect([...seen].filter((points) => points > 0 && points < curve.points).length).toBeGreaterThan(0);
    await page.locator('table.epochs tbody tr').nth(1).waitFor();
    await screenshot(page, 'run-completed');

    const runs = ((await (await fetch(`${address}/jobs`)).json()) as RunList).runs;
    expect(runs.map((run) => run.id)).toEqual([id]);
    finishedRuns.push(id);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('keeps the whole curve across a reload and a broken connection mid-training', async () => {
    const id = await submit({
      name: 'reloaded',
      trainSamples: 16000,
      testSamples: 500,
      epochs: 2,
      learningRate: 0.05,
      batchSize: 32,
      model: {
        layers: [
          { type: 'dense', units: 256, activation: 'relu' },
          { type: 'dense', units: 10 },
        ],
      },
    });
    const { page, errors } = await openPage(`/runs/${id}`);
    await page.waitForFunction(() => Number(document.querySelector('.loss-chart')?.getAttribute('data-points')) > 40);
    const before = await curveOf(page);
    await page.reload();
    await page.waitForFunction(
      (last) => Number(document.querySelector('.loss-chart')?.getAttribute('data-last-step')) > last,
      before.lastStep,
    );
    const afterReload = await curveOf(page);
    expect(afterReload.points).toBe(afterReload.lastStep);
    await screenshot(page, 'run-after-reload');

    // Break the socket as a network failure would: the page says so, then resumes from its last step.
    const states = await page.evaluate(async () => {
      const badge = document.querySelector('.loss-chart')?.closest('section')?.querySelector('[data-connection]');
      const seen: string[] = [];
      const observer = new MutationObserver(() => seen.push(badge?.getAttribute('data-connection') ?? ''));
      if (badge) observer.observe(badge, { attributes: true });
      (window as unknown as { trainer: { dropAllStreams(): void } }).trainer.dropAllStreams();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      observer.disconnect();
      return seen;
    });
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toMatch(/live|closed/);

    const finished = await untilFinished(id);
    expect(finished.status).toBe('completed');
    await page.waitForFunction(
      (total) => document.querySelector('.loss-chart')?.getAttribute('data-last-step') === String(total),
      finished.progress.totalSteps,
    );
    expect(await curveOf(page)).toEqual({
      points: finished.progress.totalSteps,
      lastStep: finished.progress.totalSteps,
    });
    finishedRuns.push(id);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('compares two finished runs picked on the runs page', async () => {
    expect(finishedRuns).toHaveLength(2);
    const { page, errors } = await openPage('/runs');
    for (const id of finishedRuns) await page.locator(`tr[data-run="${id}"] input[type="checkbox"]`).check();
    await screenshot(page, 'runs-selected');
    await page.getByRole('button', { name: 'Compare 2 selected' }).click();
    await page.waitForURL(/\/runs\/compare\?ids=/);
    await page.getByRole('heading', { name: 'Compare 2 runs' }).waitFor();
    expect(await page.locator('table.compare-runs tbody tr').count()).toBe(2);
    expect(await page.locator('table.compare-runs caption').textContent()).toMatch(/learningRate/);
    expect(await page.locator('table.layer-diff tr.differs').count()).toBeGreaterThan(0);
    expect(await page.locator('.chart canvas').count()).toBe(1);
    await page.getByLabel('by epoch').check();
    await page.waitForURL(/x=epoch/);
    await page.getByRole('checkbox', { name: 'reloaded' }).uncheck();
    expect(await page.locator('table.compare-runs tbody tr.dimmed').count()).toBe(1);
    await page.getByRole('checkbox', { name: 'reloaded' }).check();
    await screenshot(page, 'compare');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('cancels a running job from its page', async () => {
    const id = await submit({
      name: 'to cancel',
      trainSamples: 60000,
      testSamples: 500,
      epochs: 3,
      learningRate: 0.01,
      batchSize: 16,
      model: {
        layers: [
          { type: 'dense', units: 512, activation: 'relu' },
          { type: 'dense', units: 10 },
        ],
      },
    });
    const { page, errors } = await openPage(`/runs/${id}`);
    await page.waitForFunction(() => Number(document.querySelector('.loss-chart')?.getAttribute('data-points')) > 5);
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await page.waitForSelector('article.run[data-status="cancelled"]', { timeout: 30_000 });
    expect((await job(id)).status).toBe('cancelled');
    expect((await curveOf(page)).points).toBeGreaterThan(5);
    await screenshot(page, 'run-cancelled');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is usable at phone width', async () => {
    const { page, errors } = await openPage(`/runs/${finishedRuns[0]}`, 390);
    await page.locator('.loss-chart canvas').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await screenshot(page, 'run-phone');
    expect(errors).toEqual([]);
    await page.close();
  });
});
