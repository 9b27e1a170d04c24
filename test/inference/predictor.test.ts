// Runs the compiled inference thread: `npm run -s build` first.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, promises as fs, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { mnistDigit } from '../../src/domain/image-preprocessing.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LayerSpec } from '../../src/domain/job-spec.js';
import {
  createPredictor,
  type ModelFiles,
  type Predictor,
  type PredictorModel,
} from '../../src/inference/predictor.js';
import { buildModel } from '../../src/training/model.js';
import { serializeLayersModel, toLayersModel } from '../../src/training/model-artifact.js';
import { pngBomb } from './png-bomb.js';

const layers: LayerSpec[] = [
  { type: 'dense', units: 32, activation: 'relu' },
  { type: 'dense', units: 10, activation: 'linear' },
];
const preprocessing = { scale: 1 / 255, mean: 0.1307, std: 0.3081 };
const classNames = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

interface Fixture {
  files: ModelFiles;
  /** Probabilities of `testInputs` computed directly with the training model. */
  expected: number[][];
}

function rawInputs(count: number, seed: number): number[][] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) % 256;
  return Array.from({ length: count }, () => Array.from({ length: 784 }, next));
}

// Enough rows to be split across both threads.
const testInputs = rawInputs(600, 1);

async function fixture(seed: number): Promise<Fixture> {
  const model = buildModel(layers, 784, seed);
  try {
    const layersModel = toLayersModel(model, layers);
    const files = await serializeLayersModel(layersModel);
    layersModel.dispose();
    const expected = tf.tidy(() => {
      const x = tf.tensor2d(testInputs).mul(preprocessing.scale).sub(preprocessing.mean).div(preprocessing.std);
      return tf.softmax(model.logits(x as tf.Tensor2D)).arraySync();
    });
    return { files, expected };
  } finally {
    model.dispose();
  }
}

const modelOf = (key: string): PredictorModel => ({
  key,
  inputShape: [28, 28],
  preprocessing,
  classCount: 10,
  classNames,
});

describe('predictor', () => {
  const fixtures = new Map<string, Fixture>();
  const loads: string[] = [];
  let predictor: Predictor;
  let modelBytes: number;

  beforeAll(async () => {
    for (const [index, key] of ['a', 'b', 'c'].entries()) fixtures.set(key, await fixture(index + 1));
    const { files } = fixtures.get('a')!;
    modelBytes = files.modelJson.length + files.weights.length;
    predictor = createPredictor({
      threads: 2,
      // Room for two models' files.
      cacheBytes: Math.floor(modelBytes * 2.5),
      loadArtifacts: async ({ key }) => {
        loads.push(key);
        await new Promise((resolve) => setTimeout(resolve, 50));
        return fixtures.get(key)!.files;
      },
    });
  });
  afterAll(() => predictor.close());

  it('answers in input order the probabilities the model gives, with labels and class names', async () => {
    const outcome = await predictor.predict(modelOf('a'), { inputs: testInputs, topK: 10 });
    if (!outcome.ok) throw new Error(JSON.stringify(outcome.error));
    const expected = fixtures.get('a')!.expected;
    expect(outcome.predictions).toHaveLength(600);
    for (const [row, prediction] of outcome.predictions.entries()) {
      const wanted = expected[row]!;
      const best = wanted.indexOf(Math.max(...wanted));
      expect(prediction.label).toBe(best);
      expect(prediction.className).toBe(classNames[best]);
      expect(prediction.probabilities).toHaveLength(10);
      for (const { label, probability } of prediction.probabilities) expect(probability).toBeCloseTo(wanted[label]!, 5);
      const probabilities = prediction.probabilities.map((entry) => entry.probability);
      expect(probabilities).toEqual([...probabilities].sort((x, y) => y - x));
    }
  });

  it('gives the three most likely classes unless told otherwise', async () => {
    const outcome = await predictor.predict(modelOf('a'), { inputs: rawInputs(2, 9) });
    expect(outcome.ok && outcome.predictions.map((prediction) => prediction.probabilities.length)).toEqual([3, 3]);
  });

  it('loads a model once for concurrent requests, and again only after the cache let it go', async () => {
    const before = loads.length;
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, (_, index) => predictor.predict(modelOf('b'), { inputs: rawInputs(3, index) })),
    );
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(loads.slice(before)).toEqual(['b']);
    // a and b are cached; c pushes out the least recently used (a), so a loads again, b does not.
    await predictor.predict(modelOf('b'), { inputs: rawInputs(1, 1) });
    await predictor.predict(modelOf('c'), { inputs: rawInputs(1, 1) });
    await predictor.predict(modelOf('b'), { inputs: rawInputs(1, 1) });
    await predictor.predict(modelOf('a'), { inputs: rawInputs(1, 1) });
    expect(loads.slice(before)).toEqual(['b', 'c', 'a']);
    expect(predictor.stats().cachedFileBytes).toBeLessThanOrEqual(Math.floor(modelBytes * 2.5));
  });

  it('names the input and the problem for wrong lengths, non-numbers, NaN and out-of-range values', async () => {
    const good = rawInputs(1, 3)[0]!;
    const outcome = await predictor.predict(modelOf('a'), {
      inputs: [good, good.slice(1), [...good.slice(1), 'x'], [...good.slice(1), NaN], [...good.slice(1), 256], 'no'],
    });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.code).toBe('invalid_input');
    expect(outcome.error.issues).toEqual([
      { path: 'inputs[1]', message: 'must have 784 values, got 783' },
      { path: 'inputs[2][783]', message: 'must be a number, got string' },
      { path: 'inputs[3][783]', message: 'must be a finite number, got NaN' },
      { path: 'inputs[4][783]', message: 'must be between 0 and 255, got 256' },
      { path: 'inputs[5]', message: 'must be an array of 784 numbers' },
    ]);
  });

  it('refuses more than 1,000 inputs, an empty list, a bad topK and a body with neither or both lists', async () => {
    const many = Array.from({ length: 1001 }, () => [0]);
    const tooMany = await predictor.predict(modelOf('a'), { inputs: many });
    expect(!tooMany.ok && tooMany.error.code).toBe('too_many_inputs');
    const empty = await predictor.predict(modelOf('a'), { images: [] });
    expect(!empty.ok && empty.error.issues).toEqual([{ path: 'images', message: 'must hold at least one item' }]);
    const topK = await predictor.predict(modelOf('a'), { inputs: rawInputs(1, 1), topK: 11 });
    expect(!topK.ok && topK.error.issues[0]?.path).toBe('topK');
    for (const body of [{}, { inputs: rawInputs(1, 1), images: ['x'] }]) {
      const outcome = await predictor.predict(modelOf('a'), body);
      expect(!outcome.ok && outcome.error.code).toBe('invalid_input');
    }
    expect(loads.filter((key) => key === 'c').length).toBeLessThanOrEqual(1);
  });

  it('predicts from a PNG as from its grey values with preprocess resize, resizing any size to the model input', async () => {
    const pixels = Buffer.from(rawInputs(1, 5)[0]!);
    const png = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const big = await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
      .resize(112, 84, { kernel: 'nearest' })
      .jpeg()
      .toBuffer();
    const fromImages = await predictor.predict(modelOf('a'), {
      images: [png.toString('base64'), `data:image/jpeg;base64,${big.toString('base64')}`],
      preprocess: 'resize',
    });
    const fromInputs = await predictor.predict(modelOf('a'), { inputs: [Array.from(pixels)] });
    if (!fromImages.ok || !fromInputs.ok) throw new Error('refused');
    expect(fromImages.predictions[0]).toEqual(fromInputs.predictions[0]);
    expect(fromImages.predictions[1]?.probabilities).toHaveLength(3);
  });

  it('refuses a PNG bomb without decoding it, broken base64 and bytes that are no image', async () => {
    const bomb = await pngBomb(20000, 20000);
    const started = performance.now();
    const outcome = await predictor.predict(modelOf('a'), {
      images: [bomb.toString('base64'), 'iVBORw0KGgo!!!', Buffer.from('hello, not an image').toString('base64')],
    });
    expect(performance.now() - started).toBeLessThan(5000);
    expect(!outcome.ok && outcome.error.issues).toEqual([
      { path: 'images[0]', message: `is too large: more than ${4096 * 4096} pixels` },
      { path: 'images[1]', message: 'is not valid base64' },
      { path: 'images[2]', message: 'is not a PNG or JPEG image' },
    ]);
    const truncated = await sharp(Buffer.alloc(28 * 28, 200), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const broken = await predictor.predict(modelOf('a'), {
      images: [truncated.subarray(0, 60).toString('base64').replace(/=+$/, '').padEnd(80, 'A')],
    });
    expect(!broken.ok && broken.error.issues).toEqual([
      { path: 'images[0]', message: 'could not be decoded as a PNG or JPEG image' },
    ]);
  });

  it('reads images as MNIST digits by default for 28x28 one-channel models, as the domain function does', async () => {
    // A bright bar, small in a corner of a larger picture.
    const pixels = Buffer.alloc(90 * 60);
    for (let y = 3; y < 15; y++) for (let x = 5; x < 9; x++) pixels[y * 90 + x] = 250;
    const png = await sharp(pixels, { raw: { width: 90, height: 60, channels: 1 } })
      .png()
      .toBuffer();
    const expected = Array.from(mnistDigit({ width: 90, height: 60, pixels }));
    const fromImage = await predictor.predict(modelOf('a'), { images: [png.toString('base64')], topK: 10 });
    const explicit = await predictor.predict(modelOf('a'), {
      images: [png.toString('base64')],
      preprocess: 'mnist',
      topK: 10,
    });
    const fromInputs = await predictor.predict(modelOf('a'), { inputs: [expected], topK: 10 });
    if (!fromImage.ok || !explicit.ok || !fromInputs.ok) throw new Error('refused');
    expect(fromImage.predictions).toEqual(fromInputs.predictions);
    expect(explicit.predictions).toEqual(fromInputs.predictions);
    const resized = await predictor.predict(modelOf('a'), {
      images: [png.toString('base64')],
      preprocess: 'resize',
      topK: 10,
    });
    expect(resized.ok && resized.predictions).not.toEqual(fromInputs.predictions);
  });

  it('names preprocess when it is unknown, given with inputs, or mnist for a model of other pictures', async () => {
    const png = await sharp(Buffer.alloc(64, 9), { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toBuffer();
    const image = png.toString('base64');
    const small: PredictorModel = { ...modelOf('a'), inputShape: [8, 8, 1] };
    for (const [model, request, message] of [
      [modelOf('a'), { images: [image], preprocess: 'sharpen' }, 'must be one of mnist, resize'],
      [modelOf('a'), { images: [image], preprocess: '__proto__' }, 'must be one of mnist, resize'],
      [modelOf('a'), { inputs: rawInputs(1, 1), preprocess: 'resize' }, 'applies to images only'],
      [small, { images: [image], preprocess: 'mnist' }, 'mnist is for models of 28x28 one-channel images'],
    ] as const) {
      const outcome = await predictor.predict(model, request);
      expect(!outcome.ok && outcome.error.issues).toEqual([{ path: 'preprocess', message }]);
    }
  });

  it('decodes images off libuv’s thread pool: they are read while file I/O holds every thread of it', async () => {
    const png = await sharp(Buffer.from(rawInputs(1, 4)[0]!), { raw: { width: 28, height: 28, channels: 1 } })
      .resize(280, 280)
      .png()
      .toBuffer();
    const images = [png.toString('base64'), png.toString('base64')];
    // Each read of a FIFO that nobody writes holds one of the pool's threads in open().
    const folder = mkdtempSync(path.join(os.tmpdir(), 'libuv-pool-'));
    const fifos = Array.from({ length: Number(process.env.UV_THREADPOOL_SIZE ?? 4) }, (_, index) => {
      const fifo = path.join(folder, `fifo-${index}`);
      execFileSync('mkfifo', [fifo]);
      return fifo;
    });
    const held = fifos.map((fifo) => fs.readFile(fifo));
    let poolFree = false;
    const queued = fs.stat(folder).then(() => (poolFree = true));
    try {
      const outcome = await Promise.race([
        predictor.predict(modelOf('a'), { images }),
        new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 30_000)),
      ]);
      expect(outcome !== 'stuck' && outcome.ok).toBe(true);
      // The pool was held all along: a file operation queued on it had not run.
      expect(poolFree).toBe(false);
    } finally {
      // A writer that opens without blocking and closes: every held read ends.
      for (const fifo of fifos) {
        const descriptor = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
        writeSync(descriptor, 'x');
        closeSync(descriptor);
      }
      await Promise.all([...held, queued]);
      rmSync(folder, { recursive: true });
    }
  });

  it('answers a prediction from inputs while the largest allowed image is still being decoded', async () => {
    const largest = (await pngBomb(4096, 4096, { colourType: 6, bitDepth: 16 })).toString('base64');
    const answered: string[] = [];
    const image = predictor.predict(modelOf('a'), { images: [largest] }).then(() => answered.push('image'));
    const inputs = predictor.predict(modelOf('a'), { inputs: rawInputs(1, 2) }).then(() => answered.push('inputs'));
    await Promise.all([image, inputs]);
    expect(answered).toEqual(['inputs', 'image']);
  });
});
