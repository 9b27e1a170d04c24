// `npm run screenshots`: the README's pictures of the dashboard, taken from the real app. Starts an
// API and a worker on a database of its own, trains the original exercise's two networks on a slice
// of MNIST and a small sweep, and screenshots the runs, run, compare and sweep pages into docs/.
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

/** Waits until GET `path` (a job or a sweep) has a status other than queued or running. */
async function untilFinished(path: string): Promise<void> {
  for (;;) {
    const resource = (await (await fetch(`${base}${path}`)).json()) as { status: string };
    if (['completed', 'failed', 'cancelled'].includes(resource.status)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A grid of 6 small configurations: learning rate against the hidden layer's width. */
async function startSweep(): Promise<string> {
  const response = await fetch(`${base}/sweeps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'learning rate × width',
      seed: 1,
      base: exerciseSpec('mlp', { trainSamples: 3000, testSamples: 500, validationSamples: 500, epochs: 2, seed: 1 }),
      method: 'grid',
      parameters: { learningRate: { values: [0.003, 0.03, 0.3] }, 'model.layers[0].units': { values: [64, 256] } },
      maxParallel: 1,
      objective: { metric: 'validationAccuracy', goal: 'maximize' },
    }),
  });
  if (response.status !== 201) throw new Error(`POST /sweeps answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
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
  const sweep = await startSweep();
  console.log('training the exercise’s two networks on 6,000 MNIST examples, and a sweep of 6 smaller runs…');
  await untilFinished(`/jobs/${mlp}`);
  await untilFinished(`/jobs/${deep}`);
  await untilFinished(`/sweeps/${sweep}`);
  await shoot(browser, '/runs', 'dashboard-runs.png', 'table.runs tbody tr', 520);
  await shoot(browser, `/runs/${mlp}`, 'dashboard-run.png', 'table.epochs tbody tr');
  await shoot(browser, `/runs/compare?ids=${mlp},${deep}`, 'dashboard-compare.png', 'table.layer-diff', 1020);
  await shoot(browser, `/runs/sweeps/${sweep}`, 'dashboard-sweep.png', '.parallel-chart canvas', 1100);
} finally {
  await browser.close();
  await stop();
}
