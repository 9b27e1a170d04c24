import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Comparison } from '../../src/api/compare/schemas.js';
import type { DatasetView } from '../../src/api/datasets/dataset-schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';
import type { Evaluation } from '../../src/domain/evaluation.js';
import { gzip, stripes, uploadForm } from '../helpers/dataset-files.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';

describe('an uploaded dataset trains through the normal job path', () => {
  let stack: Stack;
  let second: ChildService | undefined;

  beforeAll(async () => {
    stack = await startStack('uploaded_dataset');
  });
  afterAll(async () => {
    await second?.stop();
    await stack?.stop();
  });

  async function train(dataset: string): Promise<JobView> {
    const response = await fetch(`${stack.api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        dataset,
        seed: 1,
        epochs: 3,
        learningRate: 0.1,
        batchSize: 16,
        model: {
          layers: [
            { type: 'dense', units: 16, activation: 'relu' },
            { type: 'dense', units: 6 },
          ],
        },
      }),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as JobView;
    for (;;) {
      const job = (await (await fetch(`${stack.api.address}/jobs/${id}`)).json()) as JobView;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('on a worker that has never seen it, loading it once per content hash', async () => {
    const trainSplit = stripes(600, 6, 6);
    const testSplit = stripes(120, 6, 6, 2);
    const form = uploadForm(
      { name: 'stripes-e2e', classNames: JSON.stringify(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']) },
      {
        trainImages: gzip(trainSplit.images),
        trainLabels: trainSplit.labels,
        testImages: testSplit.images,
        testLabels: testSplit.labels,
      },
    );
    const uploaded = await fetch(`${stack.api.address}/datasets`, { method: 'POST', body: form });
    expect(uploaded.status).toBe(201);
    const dataset = (await uploaded.json()) as DatasetView;

    const first = await train('stripes-e2e');
    expect(first.status, first.error ?? '').toBe('completed');
    expect(first.metrics.epochs.at(-1)?.testAccuracy).toBeGreaterThan(0.9);
    await stack.worker.waitFor(new RegExp(`"sha256":"${dataset.sha256}".*"dataset loaded"`));

    // The run page shows the most confident mistakes as the dataset's own test examples.
    const example = (index: number) => fetch(`${stack.api.address}/datasets/stripes-e2e/examples/test/${index}.png`);
    const evaluation = (await (await fetch(`${stack.api.address}/jobs/${first.id}/evaluation`)).json()) as Evaluation;
    for (const mistake of [{ index: 0, trueLabel: testSplit.labelValues[0] }, ...evaluation.mistakes]) {
      const picture = await example(mistake.index);
      expect(picture.status).toBe(200);
      expect(picture.headers.get('content-type')).toBe('image/png');
      expect(picture.headers.get('x-example-label')).toBe(String(mistake.trueLabel));
    }

    // The first worker goes; a new process that has never loaded the dataset takes the next job.
    await stack.worker.stop();
    second = spawnService('worker', stack.config);
    await second.waitFor(/worker waiting for jobs/);
    expect(second.output()).not.toMatch(/dataset loaded/);
    const onSecond = await train('stripes-e2e');
    expect(onSecond.status, onSecond.error ?? '').toBe('completed');
    expect(onSecond.metrics.epochs.at(-1)?.testAccuracy).toBeGreaterThan(0.9);
    await second.waitFor(/dataset loaded/);

    // A job after that on the same dataset loads nothing.
    const third = await train('stripes-e2e');
    expect(third.status).toBe('completed');
    expect(second.output().match(/dataset loaded/g)).toHaveLength(1);

    // Deleting the dataset leaves the finished jobs readable and comparable.
    expect((await fetch(`${stack.api.address}/datasets/stripes-e2e`, { method: 'DELETE' })).status).toBe(204);
    expect((await example(0)).status).toBe(404);
    const after = (await (await fetch(`${stack.api.address}/jobs/${first.id}`)).json()) as JobView;
    expect(after).toMatchObject({ status: 'completed', architecture: '36-16-6' });
    expect(after.metrics.epochs).toHaveLength(3);
    const history = await fetch(`${stack.api.address}/jobs/${first.id}/history`);
    expect(history.status).toBe(200);
    const compared = await fetch(`${stack.api.address}/compare?ids=${first.id},${onSecond.id}`);
    expect(compared.status).toBe(200);
    expect(((await compared.json()) as Comparison).runs.map((run) => run.architecture)).toEqual(['36-16-6', '36-16-6']);
  });
});
