import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDashboardBuilt, screenshotDir } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';

// A smoke check that the dashboard works in Firefox too (puppeteer over WebDriver BiDi).
const firefoxPath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
const missing = existsSync(firefoxPath) ? null : `${firefoxPath} is missing (apt-get install firefox-esr)`;
if (missing) console.warn(`skipping the Firefox smoke test: ${missing}`);

describe.skipIf(missing !== null)('the dashboard in Firefox', () => {
  let stack: Stack;
  let browser: Browser;
  let profile: string;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    profile = mkdtempSync(path.join(tmpdir(), 'trainer-firefox-'));
    [stack, browser] = await Promise.all([
      startStack('web_firefox'),
      puppeteer.launch({ browser: 'firefox', executablePath: firefoxPath, headless: true, userDataDir: profile }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    rmSync(profile, { recursive: true, force: true });
  });

  it('lists a run live, draws its curve and counts parameters in the form', async () => {
    const response = await fetch(`${stack.api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'firefox',
        trainSamples: 1000,
        testSamples: 200,
        epochs: 1,
        learningRate: 0.05,
        batchSize: 64,
        model: { layers: [{ type: 'dense', units: 10 }] },
      }),
    });
    const { id } = (await response.json()) as { id: string };
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.setViewport({ width: 1200, height: 900 });

    await page.goto(`${stack.api.address}/runs`);
    await page.waitForSelector(`tr[data-run="${id}"]`);
    // WS /events connected: the page shows it is live.
    await page.waitForSelector('[data-connection="live"]');

    await page.goto(`${stack.api.address}/runs/${id}`);
    await page.waitForSelector('article.run[data-status="completed"]', { timeout: 60_000 });
    await page.waitForFunction(() => Number(document.querySelector('.loss-chart')?.getAttribute('data-points')) > 0);
    expect(await page.$$eval('.loss-chart canvas', (canvases) => canvases.length)).toBe(1);
    await page.screenshot({ path: path.join(screenshotDir, 'firefox-run.png') });

    await page.goto(`${stack.api.address}/runs/new`);
    await page.waitForSelector('[data-parameters]');
    const parameters = await page.$eval('[data-parameters]', (element) => element.getAttribute('data-parameters'));
    expect(parameters).toBe('669706');
    expect(errors).toEqual([]);
    await page.close();
  });
});
