// Starts the API with its inference threads, which run the build: `npm run -s build` first.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/main/process.js';
import { mnistDigit } from '../../../src/domain/image-preprocessing.js';
import { startApi } from '../../../src/main/start-api.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createModelsRepository, type ModelsRepository } from '../../../src/store/models-repository.js';
import type { ArtifactStore } from '../../../src/store/artifacts/artifact-store.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger, testConfig } from '../../helpers/env.js';
import { pngBomb } from '../../inference/png-bomb.js';
import { preprocessing, rawInputs, storedJob, storedModel } from './model-fixtures.js';

interface Predictions {
  version: string;
  epoch: number;
  predictions: { label: number; className?: string; probabilities: { label: number; probability: number }[] }[];
}
type ModelJson = { weightsManifest: { paths: string[] }[]; userDefinedMetadata: { trainer: { version: string } } };

describe('trained models over HTTP', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let jobs: JobsRepository;
  let models: ModelsRepository;
  let artifacts: ArtifactStore;
  let jobId: string;
  let weights: { final: Buffer; best: Buffer };

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${api.address}${path}`, { headers });
  const predict = (id: string, body: unknown) =>
    fetch(`${api.address}/jobs/${id}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  beforeAll(async () => {
    database = await createTestDatabase('models_api');
    api = await startApi(testConfig(database.url, { PREDICT_THREADS: '1' }), silentLogger());
    jobs = createJobsRepository(database.prisma);
    models = createModelsRepository(database.prisma);
    artifacts = createPostgresArtifactStore(database.prisma);
    jobId = (await storedJob(jobs)).id;
    const final = await storedModel({ models, artifacts }, jobId, 'final', 1);
    const best = await storedModel({ models, artifacts }, jobId, 'best', 2);
    weights = { final: final.files.weights, best: best.files.weights };
  });
  afterAll(async () => {
    await api.close();
    await database.drop();
  });

  it('serves model.json with a weights manifest relative to the model URL, an ETag and Content-Length', async () => {
    const response = await get(`/jobs/${jobId}/model`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = Buffer.from(await response.arrayBuffer());
    expect(Number(response.headers.get('content-length'))).toBe(body.length);
    expect(response.headers.get('etag')).toBe(`"${createHash('sha256').update(body).digest('hex')}"`);
    const json = JSON.parse(body.toString()) as ModelJson;
    expect(json.weightsManifest.map((group) => group.paths)).toEqual([['model/weights.bin?version=final']]);
    expect(json.userDefinedMetadata.trainer).toMatchObject({ version: 'final', preprocessing, inputShape: [28, 28] });

    const best = (await (await get(`/jobs/${jobId}/model?version=best`)).json()) as ModelJson;
    expect(best.weightsManifest[0]?.paths).toEqual(['model/weights.bin?version=best']);
  });

  it('answers 304 to If-None-Match with the current ETag, for model.json and weights alike', async () => {
    for (const path of [`/jobs/${jobId}/model`, `/jobs/${jobId}/model/weights.bin`]) {
      const etag = (await get(path)).headers.get('etag')!;
      const again = await get(path, { 'if-none-match': etag });
      expect(again.status, path).toBe(304);
      expect((await again.arrayBuffer()).byteLength).toBe(0);
      expect((await get(path, { 'if-none-match': '"something-else"' })).status).toBe(200);
    }
  });

  it('streams the weights of each version with their SHA-256 as ETag', async () => {
    for (const version of ['final', 'best'] as const) {
      const response = await get(`/jobs/${jobId}/model/weights.bin?version=${version}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      expect(Number(response.headers.get('content-length'))).toBe(weights[version].length);
      expect(response.headers.get('etag')).toBe(`"${createHash('sha256').update(weights[version]).digest('hex')}"`);
      expect(Buffer.from(await response.arrayBuffer()).equals(weights[version])).toBe(true);
    }
  });

  it('loads with plain tf.loadLayersModel(url) and predicts what POST /predict answers', async () => {
    const inputs = rawInputs(5, 11);
    for (const query of ['', '?version=best']) {
      const model = await tf.loadLayersModel(`${api.address}/jobs/${jobId}/model${query}`);
      const expected = tf.tidy(() => {
        const x = tf.tensor2d(inputs).mul(preprocessing.scale).sub(preprocessing.mean).div(preprocessing.std);
        return (model.predict(x) as tf.Tensor).arraySync() as number[][];
      });
      model.dispose();
      const response = await predict(jobId, { inputs, topK: 10, version: query ? 'best' : 'final' });
      expect(response.status).toBe(200);
      const answer = (await response.json()) as Predictions;
      expect(answer.version).toBe(query ? 'best' : 'final');
      for (const [row, prediction] of answer.predictions.entries()) {
        const wanted = expected[row]!;
        expect(prediction.label).toBe(wanted.indexOf(Math.max(...wanted)));
        for (const { label, probability } of prediction.probabilities)
          expect(probability).toBeCloseTo(wanted[label]!, 5);
      }
    }
  });

  it('answers predictions in input order, three classes each unless told, with class names', async () => {
    const response = await predict(jobId, { inputs: rawInputs(3, 5) });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Predictions;
    expect(answer.predictions).toHaveLength(3);
    for (const prediction of answer.predictions) {
      expect(prediction.probabilities).toHaveLength(3);
      expect(prediction.probabilities[0]?.label).toBe(prediction.label);
      expect(prediction.className).toBeTypeOf('string');
    }
  });

  it('predicts from a PNG of a dataset example as from its raw pixels with preprocess resize', async () => {
    const png = Buffer.from(await (await get('/datasets/mnist/examples/test/0.png')).arrayBuffer());
    const pixels = await sharp(png).grayscale().raw().toBuffer();
    const fromImage = await predict(jobId, { images: [png.toString('base64')], preprocess: 'resize' });
    expect(fromImage.status).toBe(200);
    const fromInputs = (await (await predict(jobId, { inputs: [Array.from(pixels)] })).json()) as Predictions;
    expect(((await fromImage.json()) as Predictions).predictions).toEqual(fromInputs.predictions);
  });

  it('reads an image as an MNIST digit by default: a dark digit small on light paper as the digit itself', async () => {
    const png = Buffer.from(await (await get('/datasets/mnist/examples/test/0.png')).arrayBuffer());
    const digit = await sharp(png).grayscale().negate().resize(42, 42).raw().toBuffer();
    const photo = await sharp({ create: { width: 200, height: 150, channels: 3, background: '#ffffff' } })
      .composite([{ input: digit, raw: { width: 42, height: 42, channels: 1 }, left: 140, top: 12 }])
      .png()
      .toBuffer();
    const { data, info } = await sharp(photo).grayscale().raw().toBuffer({ resolveWithObject: true });
    const expected = Array.from(mnistDigit({ width: info.width, height: info.height, pixels: data }));
    const fromPhoto = await predict(jobId, { images: [photo.toString('base64')], topK: 10 });
    expect(fromPhoto.status).toBe(200);
    const fromInputs = (await (await predict(jobId, { inputs: [expected], topK: 10 })).json()) as Predictions;
    const answer = (await fromPhoto.json()) as Predictions;
    expect(answer.predictions[0]?.label).toBe(fromInputs.predictions[0]?.label);
    for (const [rank, { probability }] of answer.predictions[0]!.probabilities.entries())
      expect(probability).toBeCloseTo(fromInputs.predictions[0]!.probabilities[rank]!.probability, 2);
  });

  it('takes the largest image the limit allows and answers 413 naming images and the limit for more', async () => {
    // 4096 x 4096 16-bit RGBA: 128 MiB decoded, the default PREDICT_MAX_DECODED_BYTES.
    const largest = (await pngBomb(4096, 4096, { colourType: 6, bitDepth: 16 })).toString('base64');
    const one = await predict(jobId, { images: [largest] });
    expect(one.status).toBe(200);
    const two = await predict(jobId, { images: [largest, largest] });
    expect(two.status).toBe(413);
    const answer = (await two.json()) as ErrorBody;
    expect(answer.code).toBe('images_too_large');
    expect(answer.error).toBe('the images of a request may decode to at most 134217728 bytes');
    expect(answer.issues).toEqual([
      {
        path: 'images',
        message: expect.stringMatching(
          /^decode to 268435456 bytes together, more than the limit of 134217728/,
        ) as string,
      },
    ]);
  });

  it('404 for an unknown job, 409 for a job without a model, 400 naming a bad version', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    for (const path of [`/jobs/${unknown}/model`, `/jobs/${unknown}/model/weights.bin`]) {
      expect((await get(path)).status).toBe(404);
    }
    expect((await predict(unknown, { inputs: rawInputs(1, 1) })).status).toBe(404);
    const queued = await storedJob(jobs, 'queued');
    for (const response of [
      await get(`/jobs/${queued.id}/model`),
      await get(`/jobs/${queued.id}/model/weights.bin`),
      await predict(queued.id, { inputs: rawInputs(1, 1) }),
    ]) {
      expect(response.status).toBe(409);
      const body = (await response.json()) as ErrorBody;
      expect(body.code).toBe('no_model');
      expect(body.error).toMatch(/has no final model: it is queued/);
    }
    for (const path of [`/jobs/${jobId}/model?version=latest`, `/jobs/${jobId}/model/weights.bin?version=latest`]) {
      const response = await get(path);
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).issues?.[0]?.path).toBe('version');
    }
    expect((await get(`/jobs/not-a-uuid/model`)).status).toBe(400);
  });

  it('answers 409 for an evaluation until one is recorded, 404 for an unknown job', async () => {
    const response = await get(`/jobs/${jobId}/evaluation`);
    expect(response.status).toBe(409);
    expect(((await response.json()) as ErrorBody).code).toBe('no_evaluation');
    expect((await get('/jobs/00000000-0000-4000-8000-000000000000/evaluation')).status).toBe(404);
    expect((await get(`/jobs/${jobId}/evaluation?epoch=zero`)).status).toBe(400);
  });

  describe('hostile predict bodies get a 4xx naming the problem, never a 5xx', () => {
    const good = rawInputs(1, 3)[0]!;
    const refusals: [string, unknown, number, RegExp][] = [
      ['a wrong length', { inputs: [good, good.slice(1)] }, 400, /inputs\[1\]: must have 784 values, got 783/],
      ['a string', { inputs: [[...good.slice(1), 'x']] }, 400, /inputs\[0\]\[783\]: must be a number/],
      ['NaN as a string', { inputs: [[...good.slice(1), 'NaN']] }, 400, /inputs\[0\]\[783\]: must be a number/],
      ['a value out of range', { inputs: [[...good.slice(1), 256]] }, 400, /inputs\[0\]\[783\]: must be between 0/],
      ['a negative value', { inputs: [[-1, ...good.slice(1)]] }, 400, /inputs\[0\]\[0\]/],
      ['null inputs', { inputs: null }, 400, /inputs: must be an array/],
      ['an empty list', { inputs: [] }, 400, /inputs: must hold at least one/],
      ['nested too deep', { inputs: [[good]] }, 400, /inputs\[0\]: must have 784 values/],
      ['both lists', { inputs: [good], images: ['x'] }, 400, /exactly one of inputs or images/],
      ['neither list', { topK: 3 }, 400, /exactly one of inputs or images/],
      ['a bad topK', { inputs: [good], topK: 11 }, 400, /topK: must be an integer from 1 to 10/],
      ['a string topK', { inputs: [good], topK: '3' }, 400, /topK/],
      ['a bad version', { inputs: [good], version: 'latest' }, 400, /version/],
      ['an unknown field', { inputs: [good], extra: 1 }, 400, /extra/],
      ['broken base64', { images: ['not base64 at all!'] }, 400, /images\[0\]: is not valid base64/],
      [
        'base64 of no image',
        { images: [Buffer.from('hello world').toString('base64')] },
        400,
        /images\[0\]: is not a PNG/,
      ],
      ['a truncated PNG', { images: ['iVBORw0KGgoAAAANSUhEUgAA'] }, 400, /images\[0\]/],
      ['an unknown preprocess', { images: ['iVBORw0KGgo='], preprocess: 'blur' }, 400, /preprocess: must be one of/],
      ['preprocess with inputs', { inputs: [good], preprocess: 'mnist' }, 400, /preprocess: applies to images only/],
      ['an array body', [good], 400, /body/],
      ['a number body', 5, 400, /body/],
      ['1,001 inputs', { inputs: Array.from({ length: 1001 }, () => [0]) }, 413, /at most 1000 inputs/],
    ];

    it.each(refusals)('%s', async (_name, body, status, message) => {
      const response = await predict(jobId, body);
      const answer = (await response.json()) as ErrorBody;
      expect(response.status).toBe(status);
      const issues = (answer.issues ?? []).map((issue) => `${issue.path}: ${issue.message}`).join('; ');
      expect(`${answer.error}; ${issues}`).toMatch(message);
    });

    it('refuses a PNG bomb (20000 x 20000) without decoding it', async () => {
      const bomb = await pngBomb(20_000, 20_000);
      const started = performance.now();
      const response = await predict(jobId, { images: [bomb.toString('base64')] });
      expect(response.status).toBe(400);
      const answer = (await response.json()) as ErrorBody;
      expect(answer.issues?.[0]?.path).toBe('images[0]');
      expect(answer.issues?.[0]?.message).toMatch(/too large/);
      expect(performance.now() - started).toBeLessThan(10_000);
    });

    it('takes a full 1,000-input request (about 3 MB of JSON) and refuses a body over 16 MiB with 413', async () => {
      const thousand = await predict(jobId, { inputs: Array.from({ length: 1000 }, () => good) });
      expect(thousand.status).toBe(200);
      expect(((await thousand.json()) as Predictions).predictions).toHaveLength(1000);
      const huge = await predict(jobId, `{"inputs":[[${'0,'.repeat(9_000_000)}0]]}`);
      expect(huge.status).toBe(413);
      expect(((await huge.json()) as ErrorBody).error).toMatch(/limit of 16777216 bytes/);
    });

    it('answers invalid JSON with 400 and a non-JSON body with 415', async () => {
      expect((await predict(jobId, '{"inputs": [[1,2,')).status).toBe(400);
      const text = await fetch(`${api.address}/jobs/${jobId}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      expect(text.status).toBe(415);
    });
  });
});
