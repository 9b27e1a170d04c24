import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArtifactBytes, type ArtifactStore } from '../../src/store/artifacts/artifact-store.js';
import { createPostgresArtifactStore } from '../../src/store/artifacts/postgres-artifact-store.js';
import { createEpochMetricsRepository } from '../../src/store/jobs/epoch-metrics.js';
import { createModelsRepository, type ModelRecord } from '../../src/store/models-repository.js';
import { selectBackend } from '../../src/training/backend.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import { loadLayersModelFromFiles } from '../../src/training/model-artifact.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { smallSpec } from '../helpers/specs.js';
import { record, type Recording } from '../helpers/websocket.js';

interface JobBody {
  id: string;
  status: string;
  progress: { epoch: number; step: number };
  metrics: { epochs: { epoch: number; testAccuracy: number }[] };
}

const testCount = 300;

describe('trained models and evaluations, through a worker process', () => {
  let stack: Stack;
  let artifacts: ArtifactStore;
  let models: ReturnType<typeof createModelsRepository>;
  let epochMetrics: ReturnType<typeof createEpochMetricsRepository>;
  let dataset: Dataset;
  let allEvents: Recording;

  beforeAll(async () => {
    stack = await startStack('models', { WORKER_CONCURRENCY: '1', STEP_FLUSH_MS: '100' });
    artifacts = createPostgresArtifactStore(stack.database.prisma);
    models = createModelsRepository(stack.database.prisma);
    epochMetrics = createEpochMetricsRepository(stack.database.prisma);
    await selectBackend('auto');
    dataset = await loadDataset('mnist');
    allEvents = await record(`${stack.api.address.replace(/^http/, 'ws')}/events`);
  });
  afterAll(async () => {
    allEvents?.socket.close();
    await stack?.stop();
  });

  const submit = async (overrides: Parameters<typeof smallSpec>[0]) => {
    const response = await fetch(`${stack.api.address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(smallSpec(overrides)),
    });
    expect(response.status).toBe(201);
    return (await response.json()) as JobBody;
  };
  const waitUntil = async (id: string, done: (job: JobBody) => boolean) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const job = (await (await fetch(`${stack.api.address}/jobs/${id}`)).json()) as JobBody;
      if (done(job)) return job;
      if (Date.now() > deadline) throw new Error(`job ${id} stuck at ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  /** The model's files, checked against the hash and size the store recorded for them. */
  async function filesOf(model: ModelRecord) {
    const files: { modelJson: Uint8Array; weights: Uint8Array } = {
      modelJson: new Uint8Array(),
      weights: new Uint8Array(),
    };
    for (const [name, id] of [
      ['modelJson', model.modelJsonArtifactId],
      ['weights', model.weightsArtifactId],
    ] as const) {
      const bytes = await readArtifactBytes(artifacts, id);
      const info = await artifacts.stat(id);
      expect(bytes).not.toBeNull();
      expect(info).toMatchObject({ bytes: bytes?.length, sha256: createHash('sha256').update(bytes!).digest('hex') });
      files[name] = bytes!;
    }
    return files;
  }

  /** Test accuracy of the stored model on the job's test examples, predicted here, in this process. */
  async function accuracyOf(model: ModelRecord, count: number): Promise<number> {
    const layersModel = await loadLayersModelFromFiles(await filesOf(model));
    try {
      const { inputs, labels, features } = dataset.test;
      const predicted = tf.tidy(() =>
        tf.argMax(
          layersModel.predict(tf.tensor2d(inputs.subarray(0, count * features), [count, features])) as tf.Tensor,
          1,
        ),
      );
      const classes = Array.from(await predicted.data());
      predicted.dispose();
      return classes.reduce((correct, label, index) => correct + (label === labels[index] ? 1 : 0), 0) / count;
    } finally {
      layersModel.dispose();
    }
  }

  it('keeps a completed job’s final and best models, loadable and as accurate as training measured', async () => {
    const created = await submit({
      trainSamples: 512,
      testSamples: testCount,
      epochs: 2,
      batchSize: 32,
      learningRate: 0.1,
    });
    const job = await waitUntil(created.id, (current) => current.status === 'completed');
    const epochs = job.metrics.epochs;
    const stored = await models.listByJob(job.id);
    expect(stored.map((model) => model.version)).toEqual(['final', 'best']);
    const [final, best] = stored as [ModelRecord, ModelRecord];
    expect(final).toMatchObject({
      epoch: 2,
      testAccuracy: epochs[1]?.testAccuracy,
      inputShape: [28, 28, 1],
      preprocessing: { scale: 1 / 255, mean: 0.1307, std: 0.3081 },
      classCount: 10,
      classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      tfjsVersion: tf.version.tfjs,
    });
    const bestEpoch = epochs[1]!.testAccuracy >= epochs[0]!.testAccuracy ? 2 : 1;
    expect(best).toMatchObject({ epoch: bestEpoch, testAccuracy: epochs[bestEpoch - 1]?.testAccuracy });
    for (const model of stored) {
      // The same accuracy, give or take one example whose top two classes are a rounding error apart.
      expect(Math.abs((await accuracyOf(model, testCount)) - (model.testAccuracy ?? NaN))).toBeLessThanOrEqual(
        1 / testCount,
      );
    }
    // The checkpoint is gone once the models are stored; the models stay.
    expect(await stack.database.prisma.checkpoint.findUnique({ where: { jobId: job.id } })).toBeNull();
  });

  it('records every epoch’s confusion matrix, whose diagonal is the reported accuracy, and streams per-class accuracy', async () => {
    const created = await submit({ trainSamples: 512, testSamples: testCount, epochs: 2, seed: 3 });
    const job = await waitUntil(created.id, (current) => current.status === 'completed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const events = allEvents.messages.filter((message) => message.jobId === job.id && message.type === 'epoch');
    expect(events.map((event) => event.epoch)).toEqual([1, 2]);
    for (const { epoch, testAccuracy } of job.metrics.epochs) {
      const found = await epochMetrics.findEvaluation(job.id, epoch);
      expect(found?.epoch).toBe(epoch);
      const evaluation = found!.evaluation;
      const diagonal = evaluation.confusionMatrix.reduce((sum, row, label) => sum + (row[label] ?? 0), 0);
      expect(evaluation.count).toBe(testCount);
      expect(diagonal).toBe(Math.round(testAccuracy * testCount));
      expect(diagonal / testCount).toBeCloseTo(testAccuracy, 10);
      expect(evaluation.mistakes.length).toBe(Math.min(50, testCount - diagonal));
      const confidences = evaluation.mistakes.map((mistake) => mistake.confidence);
      expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
      for (const mistake of evaluation.mistakes) {
        expect(mistake.trueLabel).toBe(dataset.test.labels[mistake.index]);
        expect(mistake.predictedLabel).not.toBe(mistake.trueLabel);
      }
      const perClass = evaluation.classes.map((metrics) => metrics.accuracy);
      expect(events.find((event) => event.epoch === epoch)?.perClassAccuracy).toEqual(perClass);
      expect((await epochMetrics.perClassAccuracy(job.id)).get(epoch)).toEqual(perClass);
    }
    expect((await epochMetrics.findEvaluation(job.id))?.epoch).toBe(2);
    expect(await epochMetrics.findEvaluation(job.id, 3)).toBeNull();
  });

  it('serves the trained model: plain tf.loadLayersModel(url) predicts what POST /predict answers; the evaluation route agrees with the accuracy', async () => {
    const created = await submit({ trainSamples: 512, testSamples: testCount, epochs: 1, seed: 5 });
    const job = await waitUntil(created.id, (current) => current.status === 'completed');
    const count = 4;
    const { inputs, features } = dataset.test;
    // The API takes raw pixel values 0..255; the dataset in memory is already normalised.
    const raw = Array.from({ length: count }, (_, row) =>
      Array.from(inputs.subarray(row * features, (row + 1) * features), (value) =>
        Math.round((value * 0.3081 + 0.1307) * 255),
      ),
    );
    const model = await tf.loadLayersModel(`${stack.api.address}/jobs/${job.id}/model`);
    const expected = tf.tidy(() => {
      const x = tf.tensor2d(raw).div(255).sub(0.1307).div(0.3081);
      return (model.predict(x) as tf.Tensor).arraySync() as number[][];
    });
    model.dispose();
    const response = await fetch(`${stack.api.address}/jobs/${job.id}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: raw, topK: 10 }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as {
      predictions: { label: number; probabilities: { label: number; probability: number }[] }[];
    };
    expect(answer.predictions).toHaveLength(count);
    for (const [row, prediction] of answer.predictions.entries()) {
      const wanted = expected[row]!;
      expect(prediction.label).toBe(wanted.indexOf(Math.max(...wanted)));
      for (const { label, probability } of prediction.probabilities) expect(probability).toBeCloseTo(wanted[label]!, 5);
    }

    const evaluation = await fetch(`${stack.api.address}/jobs/${job.id}/evaluation`);
    expect(evaluation.status).toBe(200);
    const body = (await evaluation.json()) as { epoch: number; confusionMatrix: number[][]; count: number };
    const diagonal = body.confusionMatrix.reduce((sum, row, label) => sum + (row[label] ?? 0), 0);
    expect(body.epoch).toBe(1);
    expect(diagonal).toBe(Math.round(job.metrics.epochs[0]!.testAccuracy * testCount));

    // A replay from the record carries each epoch's per-class accuracy, as the live event did.
    const replayed = await record(`${stack.api.address.replace(/^http/, 'ws')}/jobs/${job.id}/events`);
    await replayed.closed;
    const epochEvent = replayed.messages.find((message) => message.type === 'epoch');
    expect(epochEvent?.perClassAccuracy).toHaveLength(10);
  });

  it('keeps a cancelled job’s model of its last completed epoch', async () => {
    // Far more epochs than it gets to: the cancel must land mid-run however fast training is.
    const created = await submit({ trainSamples: 6000, testSamples: testCount, epochs: 100, batchSize: 32 });
    // After its first epoch, anywhere in a later one: epochs this short end between two step flushes,
    // so the recorded step rarely shows a point inside an epoch to wait for.
    await waitUntil(created.id, (current) => current.metrics.epochs.length >= 1);
    await fetch(`${stack.api.address}/jobs/${created.id}/cancel`, { method: 'POST' });
    const job = await waitUntil(created.id, (current) => current.status === 'cancelled');
    const last = job.metrics.epochs.at(-1)!;
    expect(last.epoch).toBeLessThan(100);
    const final = await models.find(job.id, 'final');
    expect(final).toMatchObject({ epoch: last.epoch, testAccuracy: last.testAccuracy });
    const bestAccuracy = Math.max(...job.metrics.epochs.map((epoch) => epoch.testAccuracy));
    expect((await models.find(job.id, 'best'))?.testAccuracy).toBe(bestAccuracy);
    expect(Math.abs((await accuracyOf(final!, testCount)) - last.testAccuracy)).toBeLessThanOrEqual(1 / testCount);
  });
});
