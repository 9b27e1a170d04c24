// `npm run screenshots`: the README's pictures of the dashboard, taken from the real app. Starts an
// API and a worker on a database of its own, trains the original exercise's two networks on a slice
// of MNIST, and screenshots the runs, run and compare pages into docs/.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { exerciseSpec } from '../domain/exercise.js';
import { chromiumMissing, launchChromium } from './browser.js';
import { baseUrl, benchEnv, startServices, submitJob } from './services.js';

const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs');
const env = benchEnv('screenshots', 4000, { WORKER_CONCURRENCY: '1' });
const base = baseUrl(env);

async function untilFinished(id: string): Promise<void> {
  for (;;) {
    const job = (await (await fetch(`${base}/jobs/${id}`)).json()) as { status: string };
    if (['completed', 'failed', 'cancelled'].includes(job.status)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function shoot(browser: Browser, url: string, file: string, ready: string, height = 1000): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1280, height } });
  try {
    await page.goto(`${base}${url}`);
    await page.waitForSelector(ready);
    // Let the charts settle and the idle-time probes finish.
    await page.waitForTimeout(1500);
    await page.screenshot({ path: path.join(docs, file) });
    console.log(`wrote docs/${file}`);
  } finally {
    await page.close();
  }
}

const missing = chromiumMissing();
if (missing) {
  console.error(missing);
  process.exit(1);
}
mkdirSync(docs, { recursive: true });
const { stop } = await startServices(env, ['api', 'worker']);
const browser = await launchChromium();
try {
  const slice = { trainSamples: 6000, testSamples: 1000, seed: 1, tags: ['exercise'] };
  const mlp = await submitJob(base, exerciseSpec('mlp', slice));
  const deep = await submitJob(base, exerciseSpec('deep', slice));
  console.log('training the exercise’s two networks on 6,000 MNIST examples…');
  await untilFinished(mlp);
  await untilFinished(deep);
  await shoot(browser, '/runs', 'dashboard-runs.png', 'table.runs tbody tr', 520);
  await shoot(browser, `/runs/${mlp}`, 'dashboard-run.png', 'table.epochs tbody tr');
  await shoot(browser, `/runs/compare?ids=${mlp},${deep}`, 'dashboard-compare.png', 'table.layer-diff', 1020);
} finally {
  await browser.close();
  await stop();
}
