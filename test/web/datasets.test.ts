import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetSummary } from '../../src/api/datasets/dataset-schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';
import { chromiumMissing, launchChromium } from '../../src/bench/browser.js';
import { ensureDashboardBuilt, openPage as openTab, screenshot } from '../helpers/browser.js';
import { stripes, uploadForm } from '../helpers/dataset-files.js';
import { startStack, type Stack } from '../helpers/stack.js';

// The datasets page in Debian's chromium against the real server: files chosen in the upload form go
// to the API in this process, and a worker process trains a job on what was uploaded.
const missing = chromiumMissing();
if (missing) console.warn(`skipping the datasets page's browser tests: ${missing}`);

/** Four classes of 8x8 images: class k lights up row k. */
const trainSplit = stripes(800, 8, 4);
const testSplit = stripes(160, 8, 4, 1);

/** A CSV split: label first, then four features; class k has feature k high. */
function csvSplit(count: number): string {
  const rows = Array.from({ length: count }, (_, index) => {
    const label = index % 3;
    const features = [0, 1, 2, 3].map((feature) => (feature === label ? 5 : 0) + ((index * 7 + feature) % 10) / 10);
    return [label, ...features].join(',');
  });
  return ['label,a,b,c,d', ...rows].join('\n') + '\n';
}

const file = (name: string, content: Buffer | string) => ({
  name,
  mimeType: 'application/octet-stream',
  buffer: typeof content === 'string' ? Buffer.from(content) : content,
});

describe.skipIf(missing !== null)('the datasets page in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let address: string;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    [stack, browser] = await Promise.all([startStack('web_datasets'), launchChromium()]);
    address = stack.api.address;
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const openPage = (path: string, width?: number) => openTab(browser, `${address}${path}`, width);

  async function listed(): Promise<DatasetSummary[]> {
    return ((await (await fetch(`${address}/datasets`)).json()) as { datasets: DatasetSummary[] }).datasets;
  }

  /** The cells of the dataset's row: name, shape, classes, train, test, size, description. */
  async function rowOf(page: Page, name: string): Promise<string[]> {
    const row = page.locator(`tr[data-dataset="${name}"]`);
    await row.waitFor();
    return row.locator('td').allInnerTexts();
  }

  async function upload(fields: Record<string, string>, files: Record<string, Buffer | string>): Promise<void> {
    const response = await fetch(`${address}/datasets`, { method: 'POST', body: uploadForm(fields, files) });
    expect(response.status, await response.clone().text()).toBe(201);
  }

  /** Trains a small dense model on `dataset` through the API; answers the finished job's id. */
  async function trainOn(dataset: string, classes: number): Promise<string> {
    const response = await fetch(`${address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        dataset,
        seed: 1,
        epochs: 1,
        learningRate: 0.1,
        batchSize: 32,
        model: {
          layers: [
            { type: 'dense', units: 8, activation: 'relu' },
            { type: 'dense', units: classes },
          ],
        },
      }),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as JobView;
    for (;;) {
      const job = (await (await fetch(`${address}/jobs/${id}`)).json()) as JobView;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) {
        expect(job.status, job.error ?? '').toBe('completed');
        return id;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Draws one stroke on the run page's canvas; answers the inputs of the predict requests it made. */
  async function drawStroke(page: Page): Promise<number[][]> {
    const sent: number[][] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/predict'))
        sent.push(...(request.postDataJSON() as { inputs: number[][] }).inputs);
    });
    const canvas = page.locator('canvas.draw-canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = (await canvas.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.2);
    await page.mouse.down();
    for (let step = 1; step <= 10; step++)
      await page.mouse.move(box.x + box.width * (0.3 + step * 0.04), box.y + box.height * (0.2 + step * 0.06));
    await page.mouse.up();
    await page.locator('[data-prediction]').waitFor();
    return sent;
  }

  /** Marks the page, so a test can tell it was not loaded again. */
  const markLoaded = (page: Page) => page.evaluate(() => ((window as { loadedOnce?: boolean }).loadedOnce = true));
  const stillLoaded = (page: Page) => page.evaluate(() => (window as { loadedOnce?: boolean }).loadedOnce === true);

  it('uploads four IDX files with progress, lists the dataset with its shape, classes and size, and trains on it from the link it offers', async () => {
    const { page, errors } = await openPage('/data');
    await page.locator('tr[data-dataset="mnist"]').waitFor();
    await markLoaded(page);
    // A slow uplink, so that the upload takes a while and its progress can be seen moving.
    const network = await page.context().newCDPSession(page);
    await network.send('Network.enable');
    await network.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 40_000,
    });
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as { progressSeen?: string[] }).progressSeen = seen;
      new MutationObserver(() => {
        const progress = document.querySelector('progress[aria-label="Upload progress"]');
        if (progress) seen.push(progress.getAttribute('data-sent') ?? '');
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });

    expect(await page.getByLabel('IDX: images and labels').isChecked()).toBe(true);
    await page.getByLabel(/^Name/).fill('stripes');
    await page.getByLabel('Description').fill('rows lit by class');
    await page.getByLabel('Training images (IDX)').setInputFiles(file('train-images-idx3-ubyte', trainSplit.images));
    await page.getByLabel('Training labels (IDX)').setInputFiles(file('train-labels-idx1-ubyte', trainSplit.labels));
    await page.getByLabel('Test images (IDX)').setInputFiles(file('t10k-images-idx3-ubyte', testSplit.images));
    await page.getByLabel('Test labels (IDX)').setInputFiles(file('t10k-labels-idx1-ubyte', testSplit.labels));
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('progressbar', { name: 'Upload progress' }).waitFor();
    await screenshot(page, 'datasets-uploading');

    const cells = await rowOf(page, 'stripes');
    const stored = (await listed()).find((dataset) => dataset.name === 'stripes');
    expect(stored).toMatchObject({ inputShape: [8, 8, 1], numClasses: 4, trainSize: 800, testSize: 160 });
    const size = stored!.bytes! < 1000 ? `${stored!.bytes} B` : `${Math.round(stored!.bytes! / 1000)} kB`;
    expect(cells).toEqual(['stripes', '8×8×1', '4', '800', '160', size, 'rows lit by class']);
    expect(await stillLoaded(page)).toBe(true);
    const fractions = ((await page.evaluate(() => (window as { progressSeen?: string[] }).progressSeen)) ?? [])
      .filter((sent) => sent !== '')
      .map(Number);
    // Seen partway, not only at the start and the end.
    expect(fractions.some((sent) => sent > 0 && sent < 1)).toBe(true);
    expect(await page.getByRole('progressbar').count()).toBe(0);
    await network.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    await expect
      .poll(() => page.locator('.uploaded').innerText())
      .toMatch(/Uploaded stripes: examples of 8×8×1, 4 classes/);
    // The form is empty again, for the next upload.
    expect(await page.getByLabel(/^Name/).inputValue()).toBe('');
    await screenshot(page, 'datasets-uploaded');

    await page.getByRole('link', { name: 'Train a model on stripes' }).click();
    await page.waitForURL(/\/runs\/new\?dataset=stripes$/);
    await expect.poll(() => page.getByLabel('Dataset').inputValue()).toBe('stripes');
    await expect.poll(() => page.locator('.layers legend').innerText()).toBe('Layers (input: 64 features)');
    await page.getByLabel('Name', { exact: true }).fill('on stripes');
    await page.getByLabel('Epochs').fill('3');
    await page.getByLabel('Learning rate').fill('0.1');
    await page.getByLabel('Batch size').fill('16');
    await page.locator('input[name="model.layers.0.units"]').fill('32');
    await page.getByRole('button', { name: 'Remove layer 2' }).click();
    await page.locator('input[name="model.layers.1.units"]').fill('4');
    expect(await page.locator('.parameters .mono').innerText()).toBe('64-32-4');
    await screenshot(page, 'datasets-new-job');
    await page.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    await page.locator('article.run[data-status="completed"]').waitFor({ timeout: 60_000 });
    const job = (await (await fetch(`${address}/jobs/${id}`)).json()) as JobView;
    expect(job).toMatchObject({ status: 'completed', dataset: 'stripes', architecture: '64-32-4' });
    expect(job.metrics.epochs.at(-1)?.testAccuracy).toBeGreaterThan(0.9);
    // A model of 8x8 images: no canvas of 28x28 to draw on, though the model is there to download.
    await expect.poll(() => page.locator('section[data-drawing]').getAttribute('data-drawing')).toBe('none');
    expect(await page.locator('a', { hasText: 'model.json' }).count()).toBeGreaterThan(0);
    expect(await page.locator('canvas.draw-canvas').count()).toBe(0);
    await screenshot(page, 'datasets-trained-run');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('uploads two CSV files, the format chosen with the keyboard', async () => {
    const { page, errors } = await openPage('/data');
    await page.locator('tr[data-dataset="mnist"]').waitFor();
    await markLoaded(page);
    await page.getByLabel('IDX: images and labels').focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.getByLabel('CSV: one example per row').isChecked()).toBe(true);
    expect(await page.getByLabel('Training images (IDX)').count()).toBe(0);

    await page.getByLabel(/^Name/).fill('table');
    await page.getByLabel('Training examples (CSV)').setInputFiles(file('train.csv', csvSplit(300)));
    await page.getByLabel('Test examples (CSV)').setInputFiles(file('test.csv', csvSplit(60)));
    await page.getByLabel('Label column').fill('label');
    await page.getByRole('button', { name: 'Upload' }).click();

    const cells = await rowOf(page, 'table');
    expect(cells.slice(0, 5)).toEqual(['table', '4', '3', '300', '60']);
    expect(await stillLoaded(page)).toBe(true);
    expect(await page.getByRole('link', { name: 'Train a model on table' }).getAttribute('href')).toBe(
      '/runs/new?dataset=table',
    );
    expect((await listed()).find((dataset) => dataset.name === 'table')).toMatchObject({
      inputShape: [4],
      numClasses: 3,
    });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows the API’s refusal beside the form and the fields it names, and adds nothing', async () => {
    for (const width of [1280, 390]) {
      const before = (await listed()).map((dataset) => dataset.name);
      const { page, errors } = await openPage('/data', width);
      await page.locator('tr[data-dataset="mnist"]').waitFor();

      // One label short.
      const name = `short-labels-${width}`;
      await page.getByLabel(/^Name/).fill(name);
      const short = stripes(799, 8, 4);
      await page.getByLabel('Training images (IDX)').setInputFiles(file('train-images', trainSplit.images));
      await page.getByLabel('Training labels (IDX)').setInputFiles(file('train-labels', short.labels));
      await page.getByLabel('Test images (IDX)').setInputFiles(file('test-images', testSplit.images));
      await page.getByLabel('Test labels (IDX)').setInputFiles(file('test-labels', testSplit.labels));
      await page.getByRole('button', { name: 'Upload' }).click();
      const alert = page.locator('.upload [role="alert"]');
      await alert.waitFor();
      expect(await alert.innerText()).toContain('trainLabels: byte 4: 799 labels, but trainImages has 800 examples');
      const labelsError = page.locator('.field:has(#upload-trainLabels) [data-path="trainLabels"]');
      expect(await labelsError.innerText()).toBe('byte 4: 799 labels, but trainImages has 800 examples');
      expect(await page.getByLabel('Training labels (IDX)').getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator(`tr[data-dataset="${name}"]`).count()).toBe(0);
      await screenshot(page, `datasets-refused-${width}`);

      // A CSV upload without its test file: the API names the missing field.
      await page.getByLabel('CSV: one example per row').check();
      await page.getByLabel('Training examples (CSV)').setInputFiles(file('train.csv', csvSplit(30)));
      await page.getByRole('button', { name: 'Upload' }).click();
      const testError = page.locator('.field:has(#upload-test) [data-path="test"]');
      await testError.waitFor();
      expect(await testError.innerText()).toMatch(/is required/);
      expect(await page.locator('[data-path="train"]').count()).toBe(0);
      expect(await alert.innerText()).toMatch(/invalid dataset upload: test: is required/);
      await screenshot(page, `datasets-missing-file-${width}`);

      expect((await listed()).map((dataset) => dataset.name)).toEqual(before);
      expect(await page.locator('tbody tr').count()).toBe(before.length);
      expect(errors).toEqual([]);
      await page.close();
    }
  });

  it('offers a canvas on a model of 28x28 grey images, named by the dataset’s classes, and none on a model of flat features', async () => {
    const classNames = ['T-shirt', 'Trouser', 'Bag', 'Boot'];
    const train = stripes(400, 28, 4);
    const test = stripes(80, 28, 4, 1);
    await upload(
      { name: 'garments', classNames: JSON.stringify(classNames) },
      { trainImages: train.images, trainLabels: train.labels, testImages: test.images, testLabels: test.labels },
    );
    // The same images as a CSV of values from 0 to 1, declared 28x28x1.
    const csvOf = (split: ReturnType<typeof stripes>) =>
      split.labelValues
        .map((label, example) =>
          [
            label,
            ...Array.from(split.pixels.subarray(example * 784, (example + 1) * 784), (pixel) => pixel / 255),
          ].join(','),
        )
        .join('\n') + '\n';
    await upload(
      { name: 'garments-csv', format: 'csv', shape: '[28,28,1]' },
      { train: csvOf(train), test: csvOf(test) },
    );
    await upload({ name: 'flat', format: 'csv', labelColumn: 'label' }, { train: csvSplit(300), test: csvSplit(60) });
    const [garments, garmentsCsv, flat] = [
      await trainOn('garments', 4),
      await trainOn('garments-csv', 4),
      await trainOn('flat', 3),
    ];

    const { page, errors } = await openPage(`/runs/${garments}`);
    await expect.poll(() => page.locator('section[data-drawing]').getAttribute('data-drawing')).toBe('image');
    expect(await page.locator('#draw-heading').innerText()).toBe('Draw an image');
    const bytes = await drawStroke(page);
    expect(classNames).toContain(await page.locator('[data-prediction]').innerText());
    const rows = await page.locator('.draw-result tbody th').allInnerTexts();
    expect(rows).toHaveLength(3);
    for (const name of rows) expect(classNames).toContain(name);
    // IDX pixels are bytes: the stroke went out as grey values up to 255.
    const input = bytes.at(-1)!;
    expect(input).toHaveLength(784);
    expect(input.every((value) => Number.isInteger(value) && value >= 0 && value <= 255)).toBe(true);
    expect(Math.max(...input)).toBeGreaterThan(200);
    await screenshot(page, 'datasets-draw-image');
    await page.close();

    const { page: csvPage, errors: csvErrors } = await openPage(`/runs/${garmentsCsv}`);
    await expect.poll(() => csvPage.locator('section[data-drawing]').getAttribute('data-drawing')).toBe('image');
    // Its values run from 0 to 1, and so does what the canvas sends.
    const scaled = (await drawStroke(csvPage)).at(-1)!;
    expect(scaled).toHaveLength(784);
    expect(scaled.every((value) => value >= 0 && value <= 1)).toBe(true);
    expect(Math.max(...scaled)).toBeGreaterThan(0.8);
    await csvPage.close();

    const { page: flatPage, errors: flatErrors } = await openPage(`/runs/${flat}`);
    await expect.poll(() => flatPage.locator('section[data-drawing]').getAttribute('data-drawing')).toBe('none');
    expect(await flatPage.locator('#model-heading').count()).toBe(1);
    expect(await flatPage.locator('canvas.draw-canvas').count()).toBe(0);
    await screenshot(flatPage, 'datasets-flat-run');
    await flatPage.close();
    expect([...errors, ...csvErrors, ...flatErrors]).toEqual([]);
  });
});
