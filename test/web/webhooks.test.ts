import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/api/jobs/schemas.js';
import { chromiumMissing, launchChromium } from '../../src/bench/browser.js';
import { ensureDashboardBuilt, openPage as openTab, screenshot, screenshotDir } from '../helpers/browser.js';
import { smallSpec } from '../helpers/specs.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { startReceiver } from '../helpers/webhook-receiver.js';

// The webhooks pages in Debian's chromium, against the API and a worker that delivers to a receiver
// started here: create (the secret shown once), a run's event delivered, redeliver, delete; and what
// a viewer's key sees.
const missing = chromiumMissing();
if (missing) console.warn(`skipping the webhooks page tests: ${missing}`);

const adminKey = `admin-${'w'.repeat(40)}`;

describe.skipIf(missing !== null)('the webhooks pages', () => {
  let stack: Stack;
  let browser: Browser;
  let address: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const keys = { member: '', viewer: '' };
  let webhookId = '';

  async function api<T>(
    method: string,
    path: string,
    key: string,
    body?: object,
  ): Promise<{ status: number; body: T }> {
    const response = await fetch(`${address}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (response.status === 204 ? undefined : await response.json()) as T };
  }

  beforeAll(async () => {
    await ensureDashboardBuilt();
    [stack, browser, receiver] = await Promise.all([
      startStack('web_webhooks', {
        AUTH: 'required',
        ADMIN_API_KEY: adminKey,
        WEBHOOK_SECRET_KEY: 'the key webhook secrets are sealed with in the browser test',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_RELAY_INTERVAL_MS: '50',
        WEBHOOK_RETRY_BASE_MS: '500',
      }),
      launchChromium(),
      // The first delivery meets a receiver that is not ready: it is retried, and the page shows both attempts.
      startReceiver((index) =>
        index === 0 ? { status: 503, body: 'warming up' } : { status: 200, body: '{"received":true}' },
      ),
    ]);
    address = stack.api.address;
    for (const role of ['member', 'viewer'] as const) {
      const created = await api<{ key: string }>('POST', '/keys', adminKey, { owner: 'alice', role, name: role });
      keys[role] = created.body.key;
    }
  });
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await stack?.stop();
  });

  /** A tab signed in with `key` (kept for the tab's session, as the sign-in form keeps it) at `path`. */
  async function openPage(path: string, key: string): Promise<{ page: Page; errors: string[] }> {
    const opened = await openTab(browser);
    await opened.page.addInitScript((value) => sessionStorage.setItem('trainer.apiKey', value), key);
    await opened.page.goto(`${address}${path}`);
    return opened;
  }

  it("shows the API's refusals beside their fields, then creates a webhook and shows its secret once", async () => {
    const { page, errors } = await openPage('/hooks', keys.member);
    await page.getByRole('heading', { name: 'New webhook' }).waitFor();
    await page.getByText('No webhooks yet.').waitFor();

    // No event ticked: the API names `events`, shown under the events.
    for (const event of ['job.completed', 'job.failed'])
      await page.locator(`input[name="events"][value="${event}"]`).uncheck();
    expect(await page.locator('input[name="events"]:checked').count()).toBe(0);
    await page.getByLabel('URL (http:// or https://)').fill(receiver.url);
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.locator('.field-error[data-path="events"]').waitFor();
    // A URL of another scheme: the API names `url`, shown under the URL, which is marked invalid.
    await page.locator('input[name="events"][value="job.completed"]').check();
    await page.getByLabel('URL (http:// or https://)').fill('ftp://example.com/hook');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.locator('.field-error[data-path="url"]', { hasText: 'http' }).waitFor();
    expect(await page.locator('.field-error[data-path="events"]').count()).toBe(0);
    expect(await page.getByLabel('URL (http:// or https://)').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'webhooks-refused');

    await page.getByLabel('URL (http:// or https://)').fill(receiver.url);
    await page.getByLabel('Description (optional)').fill('CI notifier');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    const notice = page.locator('.secret-notice');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('you will not see this secret again');
    const secret = await page.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    expect(secret).toMatch(/^whsec_[\w-]{40,}$/);
    webhookId = (await notice.getAttribute('data-webhook')) ?? '';
    const row = page.locator(`tr[data-webhook="${webhookId}"]`);
    expect(await row.textContent()).toContain(receiver.url);
    expect(await row.locator('[data-state="enabled"]').count()).toBe(1);

    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: address });
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await screenshot(page, 'webhooks-created');

    // Once dismissed, or after a reload, the secret is nowhere on the page: the API never sends it again.
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.locator('.secret-notice').count()).toBe(0);
    await page.reload();
    await page.locator(`tr[data-webhook="${webhookId}"]`).waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("lists a run's event with every attempt and the receiver's answers, and redelivers it as another attempt", async () => {
    expect(webhookId).not.toBe('');
    const { page, errors } = await openPage('/hooks', keys.member);
    await page.getByRole('link', { name: receiver.url }).click();
    await page.waitForURL(`${address}/hooks/${webhookId}`);
    await page.getByText('Nothing sent yet').waitFor();

    const submitted = await api<JobView>('POST', '/jobs', keys.member, smallSpec({ epochs: 1, trainSamples: 256 }));
    expect(submitted.status).toBe(201);
    await receiver.waitFor(2, 60_000);
    const delivery = page.locator('tr[data-delivery][data-status="succeeded"]');
    await delivery.waitFor({ timeout: 15_000 });
    expect(await delivery.locator('th').textContent()).toContain('job.completed');
    expect(await delivery.getAttribute('data-attempts')).toBe('2');
    expect(await delivery.locator('code.answer').first().textContent()).toBe('{"received":true}');
    await delivery.locator('summary', { hasText: '2 attempts' }).click();
    expect(await delivery.locator('li[data-attempt="1"]').textContent()).toMatch(/503[\s\S]*warming up/);
    await screenshot(page, 'webhook-deliveries');

    await delivery.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByText('job.completed queued again').waitFor();
    const [first, , again] = await receiver.waitFor(3);
    const eventId = (raw: string) => (JSON.parse(raw) as { id: string }).id;
    expect(eventId(again?.rawBody ?? '')).toBe(eventId(first?.rawBody ?? ''));
    await page.locator('tr[data-delivery][data-attempts="3"][data-status="succeeded"]').waitFor({ timeout: 15_000 });
    // The README's picture of the page: the viewport only, without the empty page below.
    await page.setViewportSize({ width: 1280, height: 480 });
    await page.screenshot({ path: path.join(screenshotDir, 'webhook-redelivered.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a viewer the webhooks and their deliveries without create, redeliver or delete', async () => {
    expect(webhookId).not.toBe('');
    const { page, errors } = await openPage('/hooks', keys.viewer);
    await page.locator(`tr[data-webhook="${webhookId}"]`).waitFor();
    await page.getByText('Creating webhooks needs a member or admin key.').waitFor();
    expect(await page.getByRole('button', { name: 'Create webhook' }).count()).toBe(0);
    await page.goto(`${address}/hooks/${webhookId}`);
    await page.locator('tr[data-delivery]').first().waitFor();
    expect(await page.getByRole('button', { name: 'Redeliver' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Delete/ }).count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says why a webhook was disabled, and a redelivery enables it again', async () => {
    expect(webhookId).not.toBe('');
    // As the deliverer leaves a webhook whose receiver failed for WEBHOOK_DISABLE_AFTER_MS.
    const reason = 'every attempt failed for 24 hours (last: 503)';
    await stack.database.prisma.webhook.update({
      where: { id: webhookId },
      data: { disabledAt: new Date(), disabledReason: reason },
    });
    const { page, errors } = await openPage('/hooks', keys.member);
    const state = page.locator(`tr[data-webhook="${webhookId}"] [data-state="disabled"]`);
    await state.waitFor();
    expect(await state.textContent()).toContain(reason);
    await screenshot(page, 'webhooks-disabled');
    await page.getByRole('link', { name: receiver.url }).click();
    await page.locator('article.webhook[data-enabled="false"]').waitFor();
    await page.locator('tr[data-delivery]').first().getByRole('button', { name: 'Redeliver' }).click();
    await page.locator('article.webhook[data-enabled="true"]').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is usable at phone width', async () => {
    expect(webhookId).not.toBe('');
    for (const path of ['/hooks', `/hooks/${webhookId}`]) {
      const { page, errors } = await openTab(browser);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.addInitScript((value) => sessionStorage.setItem('trainer.apiKey', value), keys.member);
      await page.goto(`${address}${path}`);
      await page.locator('table tbody tr').first().waitFor();
      await screenshot(page, path === '/hooks' ? 'webhooks-phone' : 'webhook-phone');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow).toBeLessThanOrEqual(1);
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('deletes a webhook after a confirmation, and keeps it when the confirmation is dismissed', async () => {
    expect(webhookId).not.toBe('');
    const { page, errors } = await openPage(`/hooks/${webhookId}`, keys.member);
    const remove = page.getByRole('button', { name: 'Delete webhook…' });
    page.once('dialog', (dialog) => void dialog.dismiss());
    await remove.click();
    expect((await api('GET', `/webhooks/${webhookId}`, keys.member)).status).toBe(200);

    page.once('dialog', (dialog) => {
      expect(dialog.message()).toContain(receiver.url);
      void dialog.accept();
    });
    await remove.click();
    await page.waitForURL(`${address}/hooks`);
    await page.getByText('No webhooks yet.').waitFor();
    expect((await api('GET', `/webhooks/${webhookId}`, keys.member)).status).toBe(404);
    expect(errors).toEqual([]);
    await page.close();
  });
});
