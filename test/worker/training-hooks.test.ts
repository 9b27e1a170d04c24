import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/training/backend.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import { loadLayersModelFromFiles } from '../../src/training/model-artifact.js';
import { train } from '../../src/training/train.js';
import type { ThreadMessage, TrainRequest } from '../../src/worker/thread-protocol.js';
import { threadHooks } from '../../src/worker/training-hooks.js';
import { parsedSmallSpec } from '../helpers/specs.js';

describe('a training thread’s hooks', () => {
  let dataset: Dataset;
  beforeAll(async () => {
    await selectBackend('auto');
    dataset = await loadDataset('mnist');
  });

  it('sends each epoch’s evaluation with its metrics, then its model (weights handed over), then its checkpoint', async () => {
    const spec = parsedSmallSpec({ trainSamples: 256, testSamples: 200, epochs: 2 });
    const request: TrainRequest = {
      type: 'train',
      jobId: 'job-1',
      spec,
      dataset,
      stopFlag: new Int32Array(new SharedArrayBuffer(4)),
      checkpointEverySteps: 0,
    };
    const sent: { message: ThreadMessage; transfer: ArrayBuffer[] }[] = [];
    const tensorsBefore = tf.memory().numTensors;
    await train(
      spec,
      dataset,
      threadHooks(request, (message, transfer = []) => sent.push({ message, transfer })),
    );
    expect(tf.memory().numTensors).toBe(tensorsBefore);

    const kinds = sent.map(({ message }) => message.type).filter((type) => type !== 'steps');
    // Every epoch ends with a checkpoint, the last one too (a run keeps them to be forked from).
    expect(kinds).toEqual(['epoch', 'model', 'checkpoint', 'epoch', 'model', 'checkpoint']);
    for (const [index, { message, transfer }] of sent.entries()) {
      if (message.type === 'epoch') {
        const { metrics, evaluation } = message;
        expect(evaluation?.count).toBe(200);
        expect(evaluation?.correct).toBe(Math.round(metrics.testAccuracy * 200));
        const next = sent.slice(index + 1).find((later) => later.message.type === 'model')?.message;
        expect(next).toMatchObject({
          type: 'model',
          model: { epoch: metrics.epoch, testAccuracy: metrics.testAccuracy },
        });
      }
      if (message.type !== 'model') continue;
      expect(transfer).toEqual([message.model.weights.buffer]);
      expect(message.model.weights.byteLength).toBe((784 * 64 + 64 + 64 * 10 + 10) * 4);
      expect(message.model.tfjsVersion).toBe(tf.version.tfjs);
      const json = JSON.parse(Buffer.from(message.model.modelJson).toString('utf8')) as tf.io.ModelJSON;
      expect(json.userDefinedMetadata).toMatchObject({
        trainer: { jobId: 'job-1', epoch: message.model.epoch, inputShape: [28, 28, 1], classCount: 10 },
      });
      const loaded = await loadLayersModelFromFiles(message.model);
      const correct = tf.tidy(() => {
        const inputs = tf.tensor2d(dataset.test.inputs.subarray(0, 200 * 784), [200, 784]);
        const predicted = tf.argMax(loaded.predict(inputs) as tf.Tensor, 1);
        return tf.sum(
          tf.cast(
            tf.equal(predicted, tf.tensor1d(Int32Array.from(dataset.test.labels.subarray(0, 200)), 'int32')),
            'int32',
          ),
        );
      });
      expect(Math.abs((await correct.data())[0]! / 200 - message.model.testAccuracy)).toBeLessThanOrEqual(1 / 200);
      correct.dispose();
      loaded.dispose();
    }
  });
});
