import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, RunList } from '../../src/api/jobs/schemas.js';
import { chromiumMissing, launchChromium } from '../../src/bench/browser.js';
import {
  connectionStatesAfterDrop,
  ensureDashboardBuilt,
  openPage as openTab,
  screenshot,
} from '../helpers/browser.js';
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

  // An empty path opens a blank tab, for a test to set up routes first.
  const openPage = (path: string, width?: number) => openTab(browser, path ? `${address}${path}` : undefined, width);

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
    const states = await connectionStatesAfterDrop(page, 'section:has(.loss-chart) [data-connection]');
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

  it('shows a finished run’s evaluation and predicts a drawn digit as it is drawn, once the API has models', async (context) => {
    const paths = ((await (await fetch(`${address}/openapi.json`)).json()) as { paths: Record<string, object> }).paths;
    if (!paths['/jobs/{id}/predict'] || !paths['/jobs/{id}/evaluation']) {
      console.warn('skipping the drawing test: this API has no POST /jobs/:id/predict or GET /jobs/:id/evaluation yet');
      context.skip();
    }
    const { page, errors } = await openPage(`/runs/${finishedRuns[1]}`);
    await page.locator('table.confusion').waitFor();
    expect(await page.locator('table.confusion tbody tr').count()).toBe(10);
    // MNIST's digits: the canvas is for a digit, centred as MNIST shows them.
    await page.locator('section[data-drawing="digit"]').waitFor();
    expect(await page.locator('#draw-heading').innerText()).toBe('Draw a digit');
    const canvas = page.locator('canvas.draw-canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    // A "1": one stroke down the middle.
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
    await page.mouse.down();
    for (let step = 1; step <= 10; step++)
      await page.mouse.move(box.x + box.width / 2, box.y + box.height * (0.15 + step * 0.07));
    await page.mouse.up();
    const prediction = page.locator('[data-prediction]');
    await prediction.waitFor();
    expect(Number(await prediction.getAttribute('data-prediction'))).toBeGreaterThanOrEqual(0);
    expect(await page.locator('.draw-result tbody tr').count()).toBe(3);
    await screenshot(page, 'run-evaluation-and-drawing');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('draws the evaluation, model links and drawing canvas from the answers of the models routes (stubbed in the browser until they land)', async () => {
    const { page, errors } = await openPage('');
    const id = finishedRuns[0]!;
    const confusion = Array.from({ length: 10 }, (_, row) =>
      Array.from({ length: 10 }, (_, column) => (row === column ? 40 + row : (row + column) % 3)),
    );
    const bodies: { inputs: number[][] }[] = [];
    await page.route('**/openapi.json', async (route) => {
      const document = (await (await route.fetch()).json()) as { paths: Record<string, object> };
      document.paths['/jobs/{id}/model'] = { get: {} };
      document.paths['/jobs/{id}/predict'] = { post: {} };
      document.paths['/jobs/{id}/evaluation'] = { get: {} };
      await route.fulfill({ json: document });
    });
    await page.route(`**/jobs/${id}/evaluation`, (route) =>
      route.fulfill({
        json: {
          jobId: id,
          epoch: 2,
          classCount: 10,
          count: 500,
          correct: 445,
          accuracy: 0.89,
          confusionMatrix: confusion,
          classes: confusion.map((_, label) => ({
            label,
            support: 50,
            predicted: 50,
            precision: 0.9,
            recall: 0.88,
            f1: 0.89,
          })),
          mistakes: [{ index: 7, trueLabel: 4, predictedLabel: 9, confidence: 0.97 }],
        },
      }),
    );
    await page.route(`**/jobs/${id}/model`, (route) =>
      route.fulfill({ json: { modelTopology: {}, weightsManifest: [] } }),
    );
    await page.route(`**/jobs/${id}/predict`, (route) => {
      bodies.push(route.request().postDataJSON() as { inputs: number[][] });
      return route.fulfill({
        json: {
          version: 'final',
          epoch: 2,
          predictions: [
            {
              label: 1,
              probabilities: [
                { label: 1, probability: 0.91 },
                { label: 7, probability: 0.06 },
                { label: 4, probability: 0.02 },
              ],
            },
          ],
        },
      });
    });
    await page.goto(`${address}/runs/${id}`);
    await page.locator('table.confusion').waitFor();
    expect(await page.locator('table.confusion tbody tr').count()).toBe(10);
    expect(await page.locator('a', { hasText: 'model.json' }).first().getAttribute('href')).toBe(`/jobs/${id}/model`);
    const canvas = page.locator('canvas.draw-canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
    await page.mouse.down();
    for (let step = 1; step <= 10; step++)
      await page.mouse.move(box.x + box.width / 2 + step, box.y + box.height * (0.15 + step * 0.07));
    await page.mouse.up();
    await page.locator('[data-prediction="1"]').waitFor();
    // The drawing went out as MNIST does: 784 grey values, 0..255, a bright stroke on black.
    const input = bodies.at(-1)!.inputs[0]!;
    expect(input).toHaveLength(784);
    expect(input.every((value) => Number.isInteger(value) && value >= 0 && value <= 255)).toBe(true);
    expect(Math.max(...input)).toBeGreaterThan(200);
    expect(input.filter((value) => value === 0).length).toBeGreaterThan(500);
    await screenshot(page, 'run-models-stubbed');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('builds a conv net in the form, showing each layer’s shape, the server’s shape error and its parameter count as it is edited', async () => {
    const { page, errors } = await openPage('/runs/new');
    const layer = (index: number) => page.locator(`li[data-layer="${index}"]`);
    // The first network's 512-unit layers become a convolution and a pooling layer.
    await layer(0).getByLabel('Layer 1 type').selectOption('conv2d');
    await layer(0).getByLabel('Filters').fill('8');
    await layer(0).getByLabel('Activation').selectOption('relu');
    const shapeError = layer(1).locator('[data-path="model.layers.1"]');
    expect(await shapeError.textContent()).toBe(
      'dense needs a flat input but gets 26x26x8: add a flatten layer before it',
    );
    expect(await page.locator('[data-parameters]').getAttribute('data-parameters')).toBe('');
    await screenshot(page, 'new-job-conv-shape-error');
    await layer(1).getByLabel('Layer 2 type').selectOption('maxPool2d');
    expect(await layer(2).locator('[data-path="model.layers.2"]').textContent()).toMatch(/gets 13x13x8/);
    await page.getByLabel('New layer').selectOption('flatten');
    await page.getByRole('button', { name: 'Add layer' }).click();
    expect(await page.locator('li[data-layer] .field-error').count()).toBe(0);
    expect(await page.locator('.layers legend').innerText()).toBe('Layers (input: 28x28x1)');
    expect(
      await page.locator('li .layer-shape').evaluateAll((shapes) => shapes.map((shape) => shape.dataset.output)),
    ).toEqual(['26x26x8', '13x13x8', '1352', '10']);
    expect(await page.locator('.parameters .mono').innerText()).toBe('28x28x1-c8k3-p2-f-10');
    // (3x3x1 + 1) x 8 for the convolution, (1352 + 1) x 10 for the output layer.
    expect(await page.locator('[data-parameters]').getAttribute('data-parameters')).toBe(String(80 + 13530));
    await page.getByLabel('Name', { exact: true }).fill('small conv net');
    await page.getByLabel('Training examples').fill('500');
    await page.getByLabel('Test examples').fill('100');
    await page.getByLabel('Epochs').fill('1');
    await screenshot(page, 'new-job-conv');

    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const submitted = await job(page.url().split('/').at(-1)!);
    // The server counts and names the model as the form did.
    expect(submitted).toMatchObject({ parameterCount: 80 + 13530, architecture: '28x28x1-c8k3-p2-f-10' });
    await page.locator('article.run[data-status="completed"]').waitFor({ timeout: 60_000 });
    await screenshot(page, 'run-conv');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is usable at phone width', async () => {
    const { page, errors } = await openPage(`/runs/${finishedRuns[0]}`, 390);
    await page.locator('.loss-chart canvas').waitFor();
    // The model's section last: its links and the call that loads the model are the widest text.
    await page.locator('section[data-drawing]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await screenshot(page, 'run-phone');
    expect(errors).toEqual([]);
    await page.close();
  });
});
