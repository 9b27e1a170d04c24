import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Screenshots the browser tests take, to be looked at; gitignored. */
export const screenshotDir = path.join(root, 'test-output');

/**
 * Builds the dashboard into web-dist/ unless `npm run build` already did. Test files run in parallel,
 * so one builds while the others wait for it.
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const index = path.join(root, 'web-dist', 'index.html');
  const lock = path.join(root, 'web-dist.lock');
  const deadline = Date.now() + 120_000;
  while (!existsSync(index)) {
    try {
      mkdirSync(lock);
    } catch {
      if (Date.now() > deadline) throw new Error(`${lock} is held: remove it if no build is running`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    try {
      if (existsSync(index)) break;
      const vite = path.join(root, 'node_modules', '.bin', 'vite');
      const build = spawnSync(vite, ['build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], {
        cwd: root,
        encoding: 'utf8',
      });
      if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}${build.stderr}`);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Errors the page threw or logged, other than failed loads (the datasets probe 404s on purpose). */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(message.text());
  });
  return errors;
}

/** A new tab `width` pixels wide collecting its errors, at `url` (a blank tab without one, to set up routes first). */
export async function openPage(
  browser: Browser,
  url?: string,
  width = 1280,
): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors = collectPageErrors(page);
  if (url) await page.goto(url);
  return { page, errors };
}

/**
 * Breaks every live connection of the page as a network failure would, and answers the states its
 * connection badge (the `[data-connection]` element `badge` selects) went through in the next 1.5 s.
 */
export function connectionStatesAfterDrop(page: Page, badge: string): Promise<string[]> {
  return page.evaluate(async (selector) => {
    const element = document.querySelector(selector);
    const seen: string[] = [];
    const observer = new MutationObserver(() => seen.push(element?.getAttribute('data-connection') ?? ''));
    if (element) observer.observe(element, { attributes: true });
    (window as unknown as { trainer: { dropAllStreams(): void } }).trainer.dropAllStreams();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    observer.disconnect();
    return seen;
  }, badge);
}
