import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobs/schemas.js';
import { chromiumMissing, launchChromium } from '../../src/bench/browser.js';
import { ensureDashboardBuilt, openPage as openTab, screenshot } from '../helpers/browser.js';
import { smallSpec } from '../helpers/specs.js';
import { startStack, type Stack } from '../helpers/stack.js';

// The run page's fork form and notes in Debian's chromium, against the API and a worker training
// real (tiny) jobs.
const missing = chromiumMissing();
if (missing) console.warn(`skipping the fork and notes browser tests: ${missing}`);

describe.skipIf(missing !== null)('forks and notes on the run page', () => {
  let stack: Stack;
  let browser: Browser;
  let address: string;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    [stack, browser] = await Promise.all([startStack('web_forks'), launchChromium()]);
    address = stack.api.address;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const openPage = (path: string) => openTab(browser, `${address}${path}`);

  async function job(id: string): Promise<JobView> {
    return (await (await fetch(`${address}/jobs/${id}`)).json()) as JobView;
  }

  async function post(path: string, body: object): Promise<JobView> {
    const response = await fetch(`${address}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status, `POST ${path}`).toBe(201);
    return (await response.json()) as JobView;
  }

  async function finishedRun(): Promise<JobView> {
    const { id } = await post(
      '/jobs',
      smallSpec({ trainSamples: 320, testSamples: 100, epochs: 2, optimizer: 'adam', learningRate: 0.001 }),
    );
    return finished(id);
  }

  async function finished(id: string): Promise<JobView> {
    for (;;) {
      const current = await job(id);
      if (current.status === 'completed') return current;
      if (['failed', 'cancelled'].includes(current.status)) throw new Error(`run ended ${current.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('forks a run from a kept epoch with another learning rate, and continues it from its last', async () => {
    const parent = await finishedRun();
    const { page, errors } = await openPage(`/runs/${parent.id}`);
    await page.getByRole('heading', { name: 'Fork or continue' }).waitFor();
    await page.locator('select[name="fromEpoch"]').selectOption('1');
    await page.locator('input[name="epochs"]').fill('2');
    await page.locator('input[name="learningRate"]').fill('0.003');
    await page.getByRole('button', { name: 'Fork', exact: true }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/runs/') && !url.pathname.endsWith(parent.id));
    const forkId = page.url().split('/').at(-1) ?? '';
    await page.locator(`[data-parent="${parent.id}"]`).waitFor();
    // Its loss chart draws the parent's steps up to the fork point (5 of them) before its own, greyed.
    await page.waitForFunction(
      () => document.querySelector('.loss-chart')?.getAttribute('data-ancestor-points') === '5',
    );
    await screenshot(page, 'run-fork-child');
    const fork = await job(forkId);
    expect(fork.parent).toMatchObject({ jobId: parent.id, epoch: 1, resumed: { optimizerState: true } });
    expect(fork.spec.learningRate).toBe(0.003);

    await page.goto(`${address}/runs/${parent.id}`);
    // From the last epoch with more epochs than the run had, the form continues it.
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await page.waitForURL((url) => url.pathname !== `/runs/${parent.id}`);
    const continued = await job(page.url().split('/').at(-1) ?? '');
    expect(continued.parent).toMatchObject({ jobId: parent.id, epoch: 2 });
    expect(continued.spec.epochs).toBe(3);

    await page.goto(`${address}/runs/${parent.id}`);
    await page.locator(`[data-child="${continued.id}"]`).waitFor();
    expect(await page.locator('[data-child]').count()).toBe(2);
    await screenshot(page, 'run-forks');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows and edits the notes of a run, pins it, and finds it by both on the runs page', async () => {
    const run = await finishedRun();
    const { page, errors } = await openPage(`/runs/${run.id}`);
    await page.getByRole('button', { name: 'Edit notes' }).click();
    await page.getByLabel('Notes (markdown, up to 10,000 characters)').fill('Too slow: **try lr 0.003**');
    await page.getByRole('button', { name: 'Save notes' }).click();
    // Saved once the editor (whose preview renders the draft too) gives way to the notes again.
    await page.getByRole('button', { name: 'Edit notes' }).waitFor();
    // Rendered as markdown: the bold is bold, not asterisks.
    await page.locator('.notes-panel > .notes strong', { hasText: 'try lr 0.003' }).waitFor();
    expect((await job(run.id)).notes).toBe('Too slow: **try lr 0.003**');
    await page.reload();
    await page.locator('.notes strong', { hasText: 'try lr 0.003' }).waitFor();
    await page.getByRole('button', { name: 'Pin', exact: true }).click();
    await page.getByRole('button', { name: 'Unpin', exact: true }).waitFor();
    expect((await job(run.id)).pinned).toBe(true);

    await page.goto(`${address}/runs`);
    await page.getByLabel('Notes contain').fill('TRY LR');
    await page.getByLabel('Pinned only').check();
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(
      (url) => url.searchParams.get('pinned') === 'true' && url.searchParams.get('notes') === 'TRY LR',
    );
    await page.locator(`a[href="/runs/${run.id}"]`).first().waitFor();
    // The unfiltered list showed the run too: wait for the filtered answer to replace it.
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: 10_000 }).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('renders notes as markdown in which a script, an onerror and a javascript: link stay inert', async () => {
    const run = await finishedRun();
    const { page, errors } = await openPage(`/runs/${run.id}`);
    // Anything that runs sets this; nothing may.
    await page.evaluate(() => Object.assign(window, { ran: false }));
    const notes = [
      '## Findings',
      '',
      '- lr 0.003 *converges*; see [the docs](https://example.com/docs)',
      '- `batchSize` 64',
      '',
      '<script>window.ran = true</script>',
      '',
      '<img src="x" onerror="window.ran = true">',
      '',
      '[click me](javascript:window.ran=true) and <javascript:window.ran=true>',
    ].join('\n');
    await page.getByRole('button', { name: 'Edit notes' }).click();
    await page.getByLabel('Notes (markdown, up to 10,000 characters)').fill(notes);
    // The draft is previewed as it will show, before it is saved.
    await page.getByRole('region', { name: 'Preview of the notes' }).locator('h2', { hasText: 'Findings' }).waitFor();
    await screenshot(page, 'run-notes-preview');
    await page.getByRole('button', { name: 'Save notes' }).click();
    const shown = page.locator('.notes-panel .notes');
    await shown.locator('h2', { hasText: 'Findings' }).waitFor();
    expect(await shown.locator('em').textContent()).toBe('converges');
    expect(await shown.locator('a').count()).toBe(1);
    expect(await shown.locator('a').getAttribute('href')).toBe('https://example.com/docs');
    expect(await shown.locator('script, img, [onerror]').count()).toBe(0);
    // The HTML and the link that was refused show as the text that was written.
    expect(await shown.textContent()).toContain('<script>window.ran = true</script>');
    expect(await shown.textContent()).toContain('[click me](javascript:window.ran=true)');
    await shown.getByText('click me', { exact: false }).click();
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { ran: boolean }).ran)).toBe(false);
    expect(page.url()).toBe(`${address}/runs/${run.id}`);
    await screenshot(page, 'run-notes-markdown');
    expect(errors).toEqual([]);
    await page.close();
  });

  it("compares a fork with its parent, the fork's curve continuing the parent's greyed part", async () => {
    const parent = await finishedRun();
    const fork = await finished(
      (await post(`/jobs/${parent.id}/fork`, { fromEpoch: 1, overrides: { learningRate: 0.01 } })).id,
    );
    expect(fork.parent).toMatchObject({ jobId: parent.id, epoch: 1 });
    const { page, errors } = await openPage(`/runs/compare?ids=${parent.id},${fork.id}`);
    const chart = page.locator('.compare-chart');
    // The parent's steps up to the fork point (5 of 320 / 64 a epoch) are drawn before the fork's own.
    await page.waitForFunction(
      () => document.querySelector('.compare-chart')?.getAttribute('data-ancestor-points') === '5',
    );
    await page.getByText('Grey: a fork’s parent runs').waitFor();
    await screenshot(page, 'compare-fork');
    // With the parent's own curve hidden, the fork's greyed part is all that is drawn before the fork point.
    await page.locator('.legend input[type="checkbox"]').first().uncheck();
    await screenshot(page, 'compare-fork-parent-hidden');
    await page.locator('.legend input[type="checkbox"]').first().check();
    for (const axis of ['epoch', 'step']) {
      await page.getByLabel(`by ${axis}`).check();
      await page.waitForURL((url) => url.searchParams.get('x') === axis);
      expect(await chart.getAttribute('data-ancestor-points')).toBe('5');
    }

    await page.getByLabel('with ancestors').uncheck();
    await page.waitForURL((url) => url.searchParams.get('ancestors') === 'off');
    expect(await chart.getAttribute('data-ancestor-points')).toBe('0');
    await page.reload();
    await page.locator('.compare-chart[data-ancestor-points="0"]').waitFor();
    expect(await page.getByLabel('with ancestors').isChecked()).toBe(false);
    await page.getByLabel('with ancestors').check();
    await page.locator('.compare-chart[data-ancestor-points="5"]').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });
});
