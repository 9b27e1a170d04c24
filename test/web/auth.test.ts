import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobs/schemas.js';
import { chromiumMissing, launchChromium } from '../../src/bench/browser.js';
import { bearer } from '../helpers/access.js';
import { collectPageErrors, ensureDashboardBuilt, screenshot, screenshotDir } from '../helpers/browser.js';
import { startStack, type Stack } from '../helpers/stack.js';

// The dashboard against a server with AUTH=required: the key prompt, where the key is kept, the
// owner and role shown, the actions a role may not take hidden, and live streams that carry the key.
const missing = chromiumMissing();
if (missing) console.warn(`skipping the dashboard's sign-in tests: ${missing}`);

const firefoxPath = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
const firefoxMissing = existsSync(firefoxPath) ? null : `${firefoxPath} is missing (apt-get install firefox-esr)`;
if (firefoxMissing) console.warn(`skipping the Firefox sign-in check: ${firefoxMissing}`);

const adminKey = `admin-${'k'.repeat(40)}`;
const storageName = 'trainer.apiKey';

describe.skipIf(missing !== null)('the dashboard with AUTH=required, in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let address: string;
  const keys = { viewer: '', member: '', memberId: '', otherMember: '' };
  let finishedRun = '';
  let longRun = '';

  async function api<T>(method: string, path: string, key: string, body?: object): Promise<T> {
    const response = await fetch(`${address}${path}`, {
      method,
      headers: { ...bearer(key), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  const createKey = (owner: string, role: string) =>
    api<{ key: string; id: string }>('POST', '/keys', adminKey, { owner, role, name: `${owner}-${role}` });

  const job = (id: string) => api<JobView>('GET', `/jobs/${id}`, adminKey);

  beforeAll(async () => {
    await ensureDashboardBuilt();
    [stack, browser] = await Promise.all([
      startStack('web_auth', { AUTH: 'required', ADMIN_API_KEY: adminKey }),
      launchChromium(),
    ]);
    address = stack.api.address;
    const [viewer, member, other] = await Promise.all([
      createKey('alice', 'viewer'),
      createKey('alice', 'member'),
      createKey('bob', 'member'),
    ]);
    Object.assign(keys, { viewer: viewer.key, member: member.key, memberId: member.id, otherMember: other.key });
    // One worker, one job at a time: a short run that finishes, then a long one that is still training.
    const layers = (units: number) => [
      { type: 'dense', units, activation: 'relu' },
      { type: 'dense', units: 10 },
    ];
    finishedRun = (
      await api<JobView>('POST', '/jobs', keys.member, {
        name: 'short',
        trainSamples: 1000,
        testSamples: 200,
        epochs: 1,
        learningRate: 0.05,
        batchSize: 64,
        model: { layers: layers(32) },
      })
    ).id;
    longRun = (
      await api<JobView>('POST', '/jobs', keys.member, {
        name: 'long',
        trainSamples: 60000,
        testSamples: 500,
        epochs: 3,
        learningRate: 0.01,
        batchSize: 16,
        model: { layers: layers(512) },
      })
    ).id;
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

  async function signIn(page: Page, key: string, remember = false): Promise<void> {
    await page.getByLabel('API key').fill(key);
    if (remember) await page.getByLabel('Remember on this device').check();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('header .session[data-role]').waitFor();
  }

  const stored = (page: Page) =>
    page.evaluate(
      (name) => ({ session: sessionStorage.getItem(name), local: localStorage.getItem(name), url: location.href }),
      storageName,
    );

  const points = (page: Page) =>
    page.evaluate(() => Number(document.querySelector('.loss-chart')?.getAttribute('data-points')));

  it('asks for a key on first load, from the keyboard, and refuses a wrong one with a message', async () => {
    const { page, errors } = await openPage('/runs');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    const field = page.getByLabel('API key');
    expect(await field.getAttribute('type')).toBe('password');
    expect(await page.getByLabel('Remember on this device').isChecked()).toBe(false);
    // The field has the focus: a key can be typed (or pasted) and sent with Enter at once.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
    await page.keyboard.type('trn_not-a-real-key');
    await page.keyboard.press('Enter');
    const alert = page.locator('#sign-in-problem');
    await alert.filter({ hasText: /refused/ }).waitFor();
    expect(await alert.textContent()).toMatch(/unknown or revoked/);
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await stored(page)).toMatchObject({ session: null, local: null });
    expect(await page.locator('table.runs').count()).toBe(0);
    await screenshot(page, 'auth-wrong-key');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a viewer its owner, its role and the runs, without cancel, new job or upload', async () => {
    const { page, errors } = await openPage('/runs');
    await signIn(page, keys.viewer);
    const session = page.locator('header .session');
    expect(await session.getAttribute('data-owner')).toBe('alice');
    expect(await session.getAttribute('data-role')).toBe('viewer');
    expect(await session.textContent()).toMatch(/alice\s*viewer/);
    await page.locator(`tr[data-run="${longRun}"]`).waitFor();
    await page.locator(`tr[data-run="${finishedRun}"]`).waitFor();
    expect(await page.getByRole('button', { name: /^Cancel/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Delete/ }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'New job' }).count()).toBe(0);
    await page.locator('[data-connection="live"]').waitFor();
    await screenshot(page, 'auth-viewer-runs');

    await page.goto(`${address}/runs/new`);
    await page.locator('[data-refused="viewer"]').waitFor();
    expect(await page.getByRole('button', { name: 'Submit job' }).count()).toBe(0);
    await page.goto(`${address}/data`);
    await page.getByRole('heading', { name: 'Datasets' }).waitFor();
    await page.getByText('mnist', { exact: true }).waitFor();
    expect(await page.getByRole('button', { name: 'Upload' }).count()).toBe(0);
    await page.goto(`${address}/runs/${longRun}`);
    await page.locator('article.run').waitFor();
    expect(await page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Run again…' }).count()).toBe(0);

    const kept = await stored(page);
    expect(kept).toMatchObject({ session: keys.viewer, local: null });
    expect(kept.url).not.toContain(keys.viewer);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('lets a member follow its running job live, keep the session over a reload, and cancel it', async () => {
    // A link to the run itself: the prompt comes first, then the run it named.
    const { page, errors } = await openPage(`/runs/${longRun}`);
    await signIn(page, keys.member);
    expect(await page.locator('header .session').getAttribute('data-role')).toBe('member');
    await page.waitForFunction(() => Number(document.querySelector('.loss-chart')?.getAttribute('data-points')) > 5);
    // The WebSocket opened with the key as a subprotocol: live, and the curve grows without a reload.
    await page.locator('article.run [data-connection="live"]').waitFor();
    const before = await points(page);
    await page.waitForFunction(
      (count) => Number(document.querySelector('.loss-chart')?.getAttribute('data-points')) > count,
      before,
    );

    await page.reload();
    await page.locator('article.run').waitFor();
    expect(await page.getByRole('heading', { name: 'Sign in' }).count()).toBe(0);
    expect(await page.locator('header .session').getAttribute('data-owner')).toBe('alice');
    const kept = await stored(page);
    expect(kept).toMatchObject({ session: keys.member, local: null });
    expect(kept.url).not.toContain(keys.member);

    await page.waitForFunction(() => Number(document.querySelector('.loss-chart')?.getAttribute('data-points')) > 5);
    await screenshot(page, 'auth-member-run');
    await page.getByRole('button', { name: 'Cancel job' }).click();
    // The status arrives over the stream: no reload.
    await page.waitForSelector('article.run[data-status="cancelled"]', { timeout: 30_000 });
    expect((await job(longRun)).status).toBe('cancelled');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('downloads a model with the key, which a plain link could not', async () => {
    const { page, errors } = await openPage(`/runs/${finishedRun}`);
    await signIn(page, keys.member);
    const link = page.getByRole('link', { name: 'model.json', exact: true });
    await link.waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    expect(download.suggestedFilename()).toBe('short-model.json');
    expect(JSON.parse(await readFile(await download.path(), 'utf8'))).toHaveProperty('modelTopology');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('uploads a dataset from the form with the member’s key, for the member’s owner only', async () => {
    const { page, errors } = await openPage('/data');
    await signIn(page, keys.member);
    await page.getByLabel('CSV: one example per row').check();
    await page.getByLabel(/^Name/).fill('alice-table');
    const csv = (count: number) =>
      Array.from({ length: count }, (_, index) => `${index % 2},${index % 2},1`).join('\n');
    const file = (name: string, text: string) => ({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
    await page.getByLabel('Training examples (CSV)').setInputFiles(file('train.csv', csv(40)));
    await page.getByLabel('Test examples (CSV)').setInputFiles(file('test.csv', csv(10)));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('tr[data-dataset="alice-table"]').waitFor();
    const names = async (key: string) =>
      (await api<{ datasets: { name: string }[] }>('GET', '/datasets', key)).datasets.map((dataset) => dataset.name);
    expect(await names(keys.viewer)).toContain('alice-table');
    expect(await names(keys.otherMember)).not.toContain('alice-table');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('hides another owner’s runs, remembers a key only when asked, and forgets it on sign-out', async () => {
    const { page, errors } = await openPage('/runs', 390);
    await signIn(page, keys.otherMember, true);
    expect(await page.locator('header .session').getAttribute('data-owner')).toBe('bob');
    await page.getByText('No runs match.').waitFor();
    expect(await page.locator(`tr[data-run="${longRun}"]`).count()).toBe(0);
    expect(await stored(page)).toMatchObject({ session: null, local: keys.otherMember });
    await screenshot(page, 'auth-phone-member');

    await page.getByRole('button', { name: 'Sign out / change key' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await stored(page)).toMatchObject({ session: null, local: null });
    expect(errors).toEqual([]);
    await page.close();
  });

  it.skipIf(firefoxMissing !== null)('signs in and follows a run live in Firefox too', async () => {
    const { key } = await createKey('carol', 'member');
    const { id } = await api<JobView>('POST', '/jobs', key, {
      name: 'firefox',
      trainSamples: 60000,
      testSamples: 200,
      // Long enough to be still training when a loaded machine gets Firefox to draw it, at the fast
      // path's speed (this model trains 60,000 examples in about a second); cancelled below.
      epochs: 60,
      learningRate: 0.05,
      batchSize: 16,
      model: { layers: [{ type: 'dense', units: 10 }] },
    });
    const profile = mkdtempSync(path.join(tmpdir(), 'trainer-firefox-'));
    const firefox = await puppeteer.launch({
      browser: 'firefox',
      executablePath: firefoxPath,
      headless: true,
      userDataDir: profile,
    });
    try {
      const page = await firefox.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(String(error)));
      await page.setViewport({ width: 1200, height: 900 });
      await page.goto(`${address}/runs/${id}`);
      await page.waitForSelector('#api-key');
      await page.type('#api-key', key);
      await page.keyboard.press('Enter');
      await page.waitForSelector('header .session[data-owner="carol"][data-role="member"]');
      // Live over the WebSocket that offered the key as a subprotocol, and the curve grows.
      await page.waitForSelector('article.run [data-connection="live"]', { timeout: 60_000 });
      await page.waitForFunction(() => Number(document.querySelector('.loss-chart')?.getAttribute('data-points')) > 5, {
        timeout: 60_000,
      });
      // Last steps drawn over a few seconds (or until the run ends): more than one means steps arrived live.
      const seen = new Set<number>();
      for (let round = 0; round < 40 && seen.size < 3; round += 1) {
        const { lastStep, status } = await page.evaluate(() => ({
          lastStep: Number(document.querySelector('.loss-chart')?.getAttribute('data-last-step')),
          status: document.querySelector('article.run')?.getAttribute('data-status'),
        }));
        seen.add(lastStep);
        if (status !== 'running' && status !== 'queued') break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(seen.size, `last steps seen: ${[...seen].join(', ')}`).toBeGreaterThan(1);
      const kept = await page.evaluate(
        (name) => [sessionStorage.getItem(name), localStorage.getItem(name)],
        storageName,
      );
      expect(kept).toEqual([key, null]);
      await page.screenshot({ path: path.join(screenshotDir, 'auth-firefox-run.png') });
      expect(errors).toEqual([]);
    } finally {
      await firefox.close();
      rmSync(profile, { recursive: true, force: true });
      // Frees the worker; a 409 (already ended) is as good.
      await fetch(`${address}/jobs/${id}/cancel`, { method: 'POST', headers: bearer(key) });
    }
  });

  it('asks again, saying why, when the key in use is revoked', async () => {
    const { page, errors } = await openPage('/runs');
    await signIn(page, keys.member);
    await page.locator(`tr[data-run="${finishedRun}"]`).waitFor();
    await api('DELETE', `/keys/${keys.memberId}`, adminKey);
    await page.getByRole('link', { name: 'Live' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.locator('.sign-in .notice').textContent()).toMatch(/stopped working.*revoked/);
    expect(await stored(page)).toMatchObject({ session: null, local: null });

    // An admin sees every owner's runs and may filter them by owner.
    await signIn(page, adminKey);
    expect(await page.locator('header .session').getAttribute('data-role')).toBe('admin');
    await page.goto(`${address}/runs`);
    await page.getByLabel('Owner').waitFor();
    await page.locator(`tr[data-run="${finishedRun}"] button`, { hasText: 'Delete' }).waitFor();
    await screenshot(page, 'auth-admin-runs');
    // The live stream opened with the revoked key is refused too, as it should be.
    expect(errors.filter((error) => !/WebSocket connection .* failed/.test(error))).toEqual([]);
    await page.close();
  });
});
