import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import type { DatasetView } from '../../src/api/datasets/dataset-schemas.js';
import type { JobView } from '../../src/api/jobs/schemas.js';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { gzip, stripes, uploadForm } from '../helpers/dataset-files.js';
import { silentLogger, testConfig } from '../helpers/env.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { startLocalS3, s3rverCredentials, type LocalS3 } from '../helpers/s3rver.js';
import { smallSpec } from '../helpers/specs.js';

// The API runs in this process and takes its credentials from the AWS SDK's default chain, as deployed.
process.env.AWS_ACCESS_KEY_ID = s3rverCredentials.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = s3rverCredentials.secretAccessKey;

const prefix = 'e2e';
const ended = ['completed', 'failed', 'cancelled'];

describe('a server with ARTIFACT_STORE=s3://…', () => {
  let database: TestDatabase;
  let s3: LocalS3;
  let config: Config;
  let worker: ChildService;
  let api: Service & { address: string };
  const jobIds: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('s3_e2e');
    s3 = await startLocalS3('e2e');
    const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...store } = s3.env(prefix);
    config = testConfig(database.url, { ...store, ARTIFACT_DELETION_INTERVAL_MS: '200', ARTIFACT_RETRY_MS: '600000' });
    worker = spawnService('worker', config, {
      AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID ?? '',
      AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY ?? '',
    });
    await worker.waitFor(/worker waiting for jobs/);
    api = await startApi(config, silentLogger());
  });
  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await s3?.close();
    await database?.drop();
  });

  const get = (path: string, init?: RequestInit) => fetch(`${api.address}${path}`, init);
  const job = async (id: string) => (await (await get(`/jobs/${id}`)).json()) as JobView;

  async function submit(spec: object): Promise<string> {
    const response = await get('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(spec),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as JobView;
    jobIds.push(id);
    return id;
  }

  async function finished(id: string): Promise<JobView> {
    for (;;) {
      const current = await job(id);
      if (ended.includes(current.status)) return current;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('trains on an uploaded dataset with every artifact in the bucket and none in Postgres chunks', async () => {
    const trainSplit = stripes(600, 6, 6);
    const testSplit = stripes(120, 6, 6, 2);
    const form = uploadForm(
      { name: 'stripes-s3' },
      {
        trainImages: gzip(trainSplit.images),
        trainLabels: trainSplit.labels,
        testImages: testSplit.images,
        testLabels: testSplit.labels,
      },
    );
    const uploaded = await get('/datasets', { method: 'POST', body: form });
    expect(uploaded.status).toBe(201);
    expect(((await uploaded.json()) as DatasetView).name).toBe('stripes-s3');

    const id = await submit({
      dataset: 'stripes-s3',
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
    });
    const trained = await finished(id);
    expect(trained.status, trained.error ?? '').toBe('completed');

    // The model downloads and predicts.
    expect((await get(`/jobs/${id}/model`)).status).toBe(200);
    const weights = await get(`/jobs/${id}/model/weights.bin`);
    expect(weights.status).toBe(200);
    const weightBytes = Buffer.from(await weights.arrayBuffer());
    expect(weightBytes.length).toBeGreaterThan(0);
    const predicted = await get(`/jobs/${id}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [Array.from(trainSplit.images.subarray(16, 16 + 36))] }),
    });
    expect(predicted.status).toBe(200);
    // A dataset example is a range read of the dataset's object.
    const example = await get('/datasets/stripes-s3/examples/test/0.png');
    expect(example.status).toBe(200);
    expect(example.headers.get('x-example-label')).toBe(String(testSplit.labelValues[0]));

    // Every artifact (dataset, models, kept checkpoints) is an object in the bucket; Postgres holds rows only.
    const rows = await database.prisma.artifact.findMany();
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) expect(row.location).toBe(`s3://${s3.bucket}/${prefix}/${row.id}`);
    expect(await database.prisma.artifactChunk.count()).toBe(0);
    expect((await s3.keys(prefix)).sort()).toEqual(rows.map((row) => `${prefix}/${row.id}`).sort());
    const model = await database.prisma.trainedModel.findFirstOrThrow({ where: { jobId: id, version: 'final' } });
    const weightsRow = rows.find((row) => row.id === model.weightsArtifactId);
    expect(Number(weightsRow?.bytes)).toBe(weightBytes.length);
  });

  it('answers 302 to a presigned URL for weights with ARTIFACT_REDIRECTS=true', async () => {
    const [id = ''] = jobIds;
    const redirecting = await startApi({ ...config, ARTIFACT_REDIRECTS: true, PORT: 0 }, silentLogger());
    try {
      const answer = await fetch(`${redirecting.address}/jobs/${id}/model/weights.bin`, { redirect: 'manual' });
      expect(answer.status).toBe(302);
      const location = answer.headers.get('location') ?? '';
      expect(location).toMatch(new RegExp(`^${s3.endpoint}/${s3.bucket}/${prefix}/.+X-Amz-Expires=300`));
      const fromStore = Buffer.from(await (await fetch(location)).arrayBuffer());
      const throughApi = Buffer.from(await (await get(`/jobs/${id}/model/weights.bin`)).arrayBuffer());
      expect(fromStore.equals(throughApi)).toBe(true);
    } finally {
      await redirecting.close();
    }
  });

  it('answers 503 naming the store while the store is down', async () => {
    const [id = ''] = jobIds;
    await s3.stop();
    try {
      const answer = await get(`/jobs/${id}/model/weights.bin`);
      const body: unknown = await answer.json();
      expect(answer.status, JSON.stringify(body)).toBe(503);
      expect(body).toMatchObject({
        code: 'artifact_store_unavailable',
        store: `s3://${s3.bucket}/${prefix}`,
      });
      expect(answer.headers.get('retry-after')).toBe('5');
      // An upload cannot be stored meanwhile: the same answer, and nothing of it is kept.
      const small = stripes(60, 6, 6);
      const form = uploadForm(
        { name: 'stripes-down' },
        { trainImages: small.images, trainLabels: small.labels, testImages: small.images, testLabels: small.labels },
      );
      const upload = await get('/datasets', { method: 'POST', body: form });
      expect(upload.status).toBe(503);
      expect(await upload.json()).toMatchObject({ code: 'artifact_store_unavailable' });
      expect((await get('/datasets/stripes-down')).status).toBe(404);
    } finally {
      await s3.restart();
    }
    expect((await get(`/jobs/${id}/model/weights.bin`)).status).toBe(200);
  });

  it('keeps training and recording steps while the store is down, and stores the models once it is back', async () => {
    await s3.stop();
    let restarted = false;
    try {
      const id = await submit(smallSpec({ epochs: 3, trainSamples: 3000 }));
      // The first epoch's model cannot be stored: the worker retries it...
      await worker.waitFor(/artifact store write failed; retrying/, 120_000);
      // ...while training goes on to its last step, every step landing in Postgres, and the job waits
      // for its models instead of ending without them.
      const { totalSteps } = (await job(id)).progress;
      const deadline = Date.now() + 60_000;
      while ((await database.prisma.stepLoss.count({ where: { jobId: id } })) < totalSteps && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await database.prisma.stepLoss.count({ where: { jobId: id } })).toBe(totalSteps);
      expect((await job(id)).status).toBe('running');
      expect(await database.prisma.trainedModel.count({ where: { jobId: id } })).toBe(0);
      await s3.restart();
      restarted = true;

      const trained = await finished(id);
      expect(trained.status, trained.error ?? '').toBe('completed');
      expect(await database.prisma.stepLoss.count({ where: { jobId: id } })).toBe(trained.progress.totalSteps);
      expect(trained.metrics.epochs).toHaveLength(3);
      const models = await database.prisma.trainedModel.findMany({ where: { jobId: id } });
      expect(models.map((model) => model.version).sort()).toEqual(['best', 'final']);
      expect(models.find((model) => model.version === 'final')?.epoch).toBe(3);
      expect((await get(`/jobs/${id}/model/weights.bin`)).status).toBe(200);
    } finally {
      if (!restarted) await s3.restart();
    }
  });

  it('leaves no objects behind once the runs and the dataset are deleted', async () => {
    expect((await s3.keys(prefix)).length).toBeGreaterThan(0);
    for (const id of jobIds) expect((await get(`/jobs/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await get('/datasets/stripes-s3', { method: 'DELETE' })).status).toBe(204);
    const deadline = Date.now() + 20_000;
    while ((await s3.keys(prefix)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await s3.keys(prefix)).toEqual([]);
    expect(await database.prisma.artifact.count()).toBe(0);
    expect(await database.prisma.artifactDeletion.count()).toBe(0);
  });
});
