// Starts the API with its inference threads, which run the build: `npm run -s build` first.
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import type { ErrorBody } from '../../src/api/schemas/common.js';
import { createPostgresArtifactStore } from '../../src/store/artifacts/postgres-artifact-store.js';
import { createJobsRepository, type JobsRepository } from '../../src/store/jobs-repository.js';
import { createModelsRepository, type ModelsRepository } from '../../src/store/models-repository.js';
import type { ArtifactStore } from '../../src/store/artifacts/artifact-store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';
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

  it('predicts from a PNG of a dataset example as from its raw pixels', async () => {
    const png = Buffer.from(await (await get('/datasets/mnist/examples/test/0.png')).arrayBuffer());
    const sharp = (await import('sharp')).default;
    const pixels = await sharp(png).grayscale().raw().toBuffer();
    const fromImage = (await (await predict(jobId, { images: [png.toString('base64')] })).json()) as Predictions;
    const fromInputs = (await (await predict(jobId, { inputs: [Array.from(pixels)] })).json()) as Predictions;
    expect(fromImage.predictions).toEqual(fromInputs.predictions);
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
});
