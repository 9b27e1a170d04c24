import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp } from '../../../src/api/http/app.js';
import { createEventHub } from '../../../src/api/streams/event-hub.js';
import { createDatasetsService } from '../../../src/api/datasets/datasets-service.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import { createModelsService } from '../../../src/api/models/models-service.js';
import { createSweepsService } from '../../../src/api/sweeps/sweeps-service.js';
import { createSweepsRepository } from '../../../src/store/sweeps/sweeps-repository.js';
import { createWebhooksService } from '../../../src/api/webhooks/webhooks-service.js';
import { createUsageService } from '../../../src/api/usage/usage-service.js';
import { createUsageRepository } from '../../../src/store/usage-repository.js';
import { createDeliveriesRepository } from '../../../src/store/webhooks/deliveries-repository.js';
import { createSecretBox } from '../../../src/store/webhooks/secret-box.js';
import { createWebhooksRepository } from '../../../src/store/webhooks/webhooks-repository.js';
import type { DatasetExamples } from '../../../src/datasets/examples/examples.js';
import { datasets as bundled } from '../../../src/domain/datasets.js';
import { specParameterCount, totalSteps } from '../../../src/domain/model-shape.js';
import { createEventPublisher, type PublishEvent } from '../../../src/events/job-events.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createDatasetsRepository } from '../../../src/store/datasets-repository.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createModelsRepository } from '../../../src/store/models-repository.js';
import { createEvaluationAccumulator } from '../../../src/training/evaluation.js';
import { bearer, requiredAccess, testKeys } from '../../helpers/access.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { stripes, uploadForm } from '../../helpers/dataset-files.js';
import { queuePrefix, redisUrl, silentLogger } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { parsedSmallSpec, smallSpec } from '../../helpers/specs.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';

// Who asks, in the order of every row's expected statuses.
const principals = ['none', 'revoked', 'viewer', 'otherMember', 'owningMember', 'admin'] as const;
type Principal = (typeof principals)[number];
type Statuses = [number, number, number, number, number, number];

interface Fixture {
  /** Alice's finished job, with a final model and an evaluation. */
  aliceJob: string;
  aliceJob2: string;
  bobJob: string;
  freshAliceJob: () => Promise<string>;
  /** A new ended job of alice's, for each DELETE. */
  freshEndedAliceJob: () => Promise<string>;
  freshKeyId: () => Promise<string>;
  /** A new uploaded dataset of alice's, for each DELETE. */
  freshAliceDataset: () => Promise<string>;
  /** Alice's running sweep, with two finished runs (so /compare?sweep= has two to compare). */
  aliceSweep: string;
  /** A new running sweep of alice's, for each cancel. */
  freshAliceSweep: () => Promise<string>;
  /** Alice's webhook, with one delivery. */
  aliceWebhook: string;
  aliceDelivery: string;
  /** A new webhook of alice's, for each DELETE. */
  freshAliceWebhook: () => Promise<string>;
}

interface HttpRow {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** The route as registered, so the table can be checked against the app's routes. */
  route: string;
  url: (fixture: Fixture) => Promise<string> | string;
  body?: () => unknown;
  expected: Statuses;
}

// A tiny IDX dataset: 4x4 stripes in 2 classes.
const tinyTrain = stripes(8, 4, 2);
const tinyTest = stripes(4, 4, 2, 1);
let uploads = 0;
const datasetForm = (name = `upload-${++uploads}`) =>
  uploadForm(
    { name },
    {
      trainImages: tinyTrain.images,
      trainLabels: tinyTrain.labels,
      testImages: tinyTest.images,
      testLabels: tinyTest.labels,
    },
  );

// A built dashboard of one page and one asset: its pages and assets are public.
const dashboardRoot = mkdtempSync(path.join(os.tmpdir(), 'trainer-dashboard-'));
mkdirSync(path.join(dashboardRoot, 'assets'));
writeFileSync(path.join(dashboardRoot, 'index.html'), '<!doctype html><title>trainer</title>');
writeFileSync(path.join(dashboardRoot, 'assets', 'app-0123abcd.js'), 'export {};');
const everyone: Statuses = [200, 200, 200, 200, 200, 200];
const dashboardRows: HttpRow[] = [
  ...['/', '/runs', '/runs/new', '/runs/compare', '/runs/live', '/data', '/index.html'].map((page): HttpRow => ({
    method: 'GET',
    route: page,
    url: () => page,
    expected: everyone,
  })),
  { method: 'GET', route: '/runs/:id', url: (f) => `/runs/${f.aliceJob}`, expected: everyone },
  { method: 'GET', route: '/runs/sweeps', url: () => '/runs/sweeps', expected: everyone },
  // The page answers for any id: the browser reads the sweep (admins only) through the API.
  { method: 'GET', route: '/runs/sweeps/:id', url: () => `/runs/sweeps/${missing}`, expected: everyone },
  { method: 'GET', route: '/hooks', url: () => '/hooks', expected: everyone },
  // As for sweeps: the page answers for any id, the browser reads the webhook through the API.
  { method: 'GET', route: '/hooks/:id', url: () => `/hooks/${missing}`, expected: everyone },
  { method: 'GET', route: '/assets/*', url: () => '/assets/app-0123abcd.js', expected: everyone },
];

const missing = '00000000-0000-4000-8000-000000000000';
// A small grid of two runs; no worker drives sweeps here, so they stay running.
const sweepBody = () => ({
  name: 'access',
  base: smallSpec({ epochs: 1 }),
  method: 'grid',
  parameters: { learningRate: { values: [0.1, 0.2] } },
  objective: { metric: 'testAccuracy', goal: 'maximize' },
});
// Sweeps are owned like jobs: alice's sweep is a 404 to bob, exactly like a missing one.
const sweepRows: HttpRow[] = [
  { method: 'GET', route: '/sweeps', url: () => '/sweeps', expected: [401, 401, 200, 200, 200, 200] },
  {
    method: 'GET',
    route: '/sweeps/:id',
    url: (f) => `/sweeps/${f.aliceSweep}`,
    expected: [401, 401, 200, 404, 200, 200],
  },
  { method: 'GET', route: '/sweeps/:id', url: () => `/sweeps/${missing}`, expected: [401, 401, 404, 404, 404, 404] },
  {
    method: 'POST',
    route: '/sweeps/:id/cancel',
    url: async (f) => `/sweeps/${await f.freshAliceSweep()}/cancel`,
    expected: [401, 401, 403, 404, 200, 200],
  },
  {
    method: 'POST',
    route: '/sweeps/:id/cancel',
    url: () => `/sweeps/${missing}/cancel`,
    expected: [401, 401, 403, 404, 404, 404],
  },
  {
    method: 'POST',
    route: '/sweeps',
    url: () => '/sweeps',
    body: () => ({}),
    expected: [401, 401, 403, 400, 400, 400],
  },
  { method: 'POST', route: '/sweeps', url: () => '/sweeps', body: sweepBody, expected: [401, 401, 403, 201, 201, 201] },
  {
    method: 'GET',
    route: '/compare',
    url: (f) => `/compare?sweep=${f.aliceSweep}`,
    expected: [401, 401, 200, 404, 200, 200],
  },
  {
    method: 'GET',
    route: '/compare',
    url: () => `/compare?sweep=${missing}`,
    expected: [401, 401, 404, 404, 404, 404],
  },
];
const denied: [number, number] = [401, 401];

// Alice owns the jobs; the viewer and the owning member are alice's, the other member is bob's.
const httpTable: HttpRow[] = [
  { method: 'GET', route: '/health', url: () => '/health', expected: [200, 200, 200, 200, 200, 200] },
  { method: 'GET', route: '/health/live', url: () => '/health/live', expected: [200, 200, 200, 200, 200, 200] },
  { method: 'GET', route: '/openapi.json', url: () => '/openapi.json', expected: [200, 200, 200, 200, 200, 200] },
  { method: 'GET', route: '/whoami', url: () => '/whoami', expected: [...denied, 200, 200, 200, 200] },
  { method: 'GET', route: '/jobs', url: () => '/jobs', expected: [...denied, 200, 200, 200, 200] },
  { method: 'GET', route: '/jobs/:id', url: (f) => `/jobs/${f.aliceJob}`, expected: [...denied, 200, 404, 200, 200] },
  { method: 'GET', route: '/jobs/:id', url: () => `/jobs/${missing}`, expected: [...denied, 404, 404, 404, 404] },
  {
    method: 'GET',
    route: '/jobs/:id/history',
    url: (f) => `/jobs/${f.aliceJob}/history?points=10`,
    expected: [...denied, 200, 404, 200, 200],
  },
  ...['history.csv', 'history.parquet', 'epochs.csv'].map((file): HttpRow => ({
    method: 'GET',
    route: `/jobs/:id/${file}`,
    url: (f) => `/jobs/${f.aliceJob}/${file}`,
    expected: [...denied, 200, 404, 200, 200],
  })),
  { method: 'GET', route: '/jobs.csv', url: () => '/jobs.csv', expected: [...denied, 200, 200, 200, 200] },
  {
    method: 'GET',
    route: '/compare',
    url: (f) => `/compare?ids=${f.aliceJob},${f.aliceJob2}`,
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'GET',
    route: '/compare',
    url: (f) => `/compare?ids=${f.aliceJob},${f.bobJob}`,
    // One id the key may not see fails the whole comparison, as a missing id would.
    expected: [...denied, 404, 404, 404, 200],
  },
  {
    method: 'GET',
    route: '/compare.svg',
    url: (f) => `/compare.svg?ids=${f.aliceJob},${f.aliceJob2}&points=20`,
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'POST',
    route: '/jobs',
    url: () => '/jobs',
    body: () => smallSpec(),
    expected: [...denied, 403, 201, 201, 201],
  },
  {
    method: 'GET',
    route: '/jobs/:id/checkpoints',
    url: (f) => `/jobs/${f.aliceJob}/checkpoints`,
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'POST',
    route: '/jobs/:id/fork',
    url: (f) => `/jobs/${f.aliceJob}/fork`,
    body: () => ({ overrides: { epochs: 5 } }),
    // The fixture's run keeps no checkpoint: those who may fork it are told so.
    expected: [...denied, 403, 404, 409, 409],
  },
  {
    method: 'PATCH',
    route: '/jobs/:id',
    url: (f) => `/jobs/${f.aliceJob}`,
    body: () => ({ notes: 'seen' }),
    expected: [...denied, 403, 404, 200, 200],
  },
  {
    method: 'POST',
    route: '/jobs/:id/cancel',
    url: async (f) => `/jobs/${await f.freshAliceJob()}/cancel`,
    expected: [...denied, 403, 404, 200, 200],
  },
  {
    method: 'DELETE',
    route: '/jobs/:id',
    url: async (f) => `/jobs/${await f.freshEndedAliceJob()}`,
    expected: [...denied, 403, 404, 204, 204],
  },
  {
    method: 'DELETE',
    route: '/jobs/:id',
    url: () => `/jobs/${missing}`,
    expected: [...denied, 403, 404, 404, 404],
  },
  {
    method: 'GET',
    route: '/jobs/:id/model',
    url: (f) => `/jobs/${f.aliceJob}/model`,
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'GET',
    route: '/jobs/:id/model/weights.bin',
    url: (f) => `/jobs/${f.aliceJob}/model/weights.bin`,
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'POST',
    route: '/jobs/:id/predict',
    url: (f) => `/jobs/${f.aliceJob}/predict`,
    body: () => ({ inputs: [Array.from({ length: 784 }, () => 0)] }),
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'GET',
    route: '/jobs/:id/evaluation',
    url: (f) => `/jobs/${f.aliceJob}/evaluation`,
    expected: [...denied, 200, 404, 200, 200],
  },
  { method: 'GET', route: '/datasets', url: () => '/datasets', expected: [...denied, 200, 200, 200, 200] },
  {
    method: 'GET',
    route: '/datasets/:name',
    url: () => '/datasets/alice-set',
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'GET',
    route: '/datasets/:name',
    url: () => '/datasets/mnist',
    // Bundled datasets are everyone's.
    expected: [...denied, 200, 200, 200, 200],
  },
  {
    method: 'POST',
    route: '/datasets',
    url: () => '/datasets',
    body: () => datasetForm(),
    expected: [...denied, 403, 201, 201, 201],
  },
  {
    method: 'DELETE',
    route: '/datasets/:name',
    url: async (f) => `/datasets/${await f.freshAliceDataset()}`,
    expected: [...denied, 403, 404, 204, 204],
  },
  {
    method: 'DELETE',
    route: '/datasets/:name',
    url: () => '/datasets/mnist',
    expected: [...denied, 403, 403, 403, 403],
  },
  {
    method: 'GET',
    route: '/datasets/:name/examples/:split/:index.png',
    url: () => '/datasets/alice-set/examples/test/0.png',
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'GET',
    route: '/datasets/:name/examples/:split/:index.png',
    url: () => '/datasets/mnist/examples/test/0.png',
    expected: [...denied, 200, 200, 200, 200],
  },
  {
    method: 'POST',
    route: '/keys',
    url: () => '/keys',
    body: () => ({ owner: 'carol', role: 'member', name: 'ci' }),
    expected: [...denied, 403, 403, 403, 201],
  },
  { method: 'GET', route: '/keys', url: () => '/keys', expected: [...denied, 403, 403, 403, 200] },
  {
    method: 'DELETE',
    route: '/keys/:id',
    url: async (f) => `/keys/${await f.freshKeyId()}`,
    expected: [...denied, 403, 403, 403, 204],
  },
  // No such route: a key is still needed to learn that.
  { method: 'GET', route: '', url: () => '/no-such-route', expected: [...denied, 404, 404, 404, 404] },
];

interface SocketRow {
  route: string;
  path: (fixture: Fixture) => string;
  /** 101: the WebSocket opened. */
  expected: Statuses;
}

// Webhooks are owner-scoped like jobs: viewers read their owner's, members manage them, admins all.
const webhookRows: HttpRow[] = [
  {
    method: 'POST',
    route: '/webhooks',
    url: () => '/webhooks',
    body: () => ({ url: 'https://93.184.216.34/hook', events: ['*'] }),
    expected: [...denied, 403, 201, 201, 201],
  },
  { method: 'GET', route: '/webhooks', url: () => '/webhooks', expected: [...denied, 200, 200, 200, 200] },
  {
    method: 'GET',
    route: '/webhooks/:id',
    url: (f) => `/webhooks/${f.aliceWebhook}`,
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'DELETE',
    route: '/webhooks/:id',
    url: async (f) => `/webhooks/${await f.freshAliceWebhook()}`,
    expected: [...denied, 403, 404, 204, 204],
  },
  {
    method: 'GET',
    route: '/webhooks/:id/deliveries',
    url: (f) => `/webhooks/${f.aliceWebhook}/deliveries`,
    expected: [...denied, 200, 404, 200, 200],
  },
  {
    method: 'POST',
    route: '/webhooks/:id/deliveries/:deliveryId/redeliver',
    url: (f) => `/webhooks/${f.aliceWebhook}/deliveries/${f.aliceDelivery}/redeliver`,
    expected: [...denied, 403, 404, 202, 202],
  },
];

httpTable.push(...dashboardRows, ...sweepRows, ...webhookRows, {
  method: 'GET',
  route: '/usage',
  url: () => '/usage',
  // Every key sees its own owner's usage; admins everyone's.
  expected: [...denied, 200, 200, 200, 200],
});

const socketTable: SocketRow[] = [
  { route: '/jobs/:id/events', path: (f) => `/jobs/${f.aliceJob}/events`, expected: [...denied, 101, 404, 101, 101] },
  { route: '/events', path: () => '/events', expected: [...denied, 101, 101, 101, 101] },
  {
    route: '/sweeps/:id/events',
    path: (f) => `/sweeps/${f.aliceSweep}/events`,
    expected: [...denied, 101, 404, 101, 101],
  },
  { route: '/sweeps/:id/events', path: () => `/sweeps/${missing}/events`, expected: [...denied, 404, 404, 404, 404] },
];

// Routes the tables need not cover: the interactive docs' assets (public by their plugin).
const untabled = (route: string) => route.startsWith('/docs');

/** The status of a WebSocket handshake: 101 once open, else the HTTP status it was refused with. */
function handshake(url: string, options: { headers?: Record<string, string>; protocols?: string[] }) {
  return new Promise<{ status: number; socket: WebSocket }>((resolve, reject) => {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    socket.once('open', () => resolve({ status: 101, socket }));
    socket.once('unexpected-response', (_request, response) => {
      resolve({ status: response.statusCode ?? 0, socket });
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

describe('access control', () => {
  let database: TestDatabase;
  let app: FastifyInstance;
  let redis: Redis;
  let subscriber: Redis;
  let address: string;
  let repository: JobsRepository;
  let publish: PublishEvent;
  let fixture: Fixture;
  let tmpDir: string;
  const keyOf = new Map<Principal, string>();
  const adminKey = 'an-admin-key-from-the-environment-0123456789';

  /** The app with every route: jobs, models, datasets and their examples, keys. */
  function fullApp(prefix: string, keys: ReturnType<typeof testKeys>) {
    const prisma = database.prisma;
    const artifacts = createPostgresArtifactStore(prisma);
    const datasets = createDatasetsService({
      datasets: createDatasetsRepository(prisma),
      artifacts,
      limits: { maxUploadBytes: 1024 ** 2, maxExamples: 1000, maxTotalBytes: 1024 ** 3, maxOwnerBytes: 10_000 },
      tmpDir,
      logger: silentLogger(),
    });
    const evaluation = createEvaluationAccumulator(2);
    evaluation.add({ firstIndex: 0, trueLabels: [0, 1], predictedLabels: [0, 0], confidences: [0.9, 0.8] });
    const models = createModelsService({
      jobs: repository,
      models: createModelsRepository(prisma),
      artifacts,
      predict: () => Promise.resolve({ ok: true, predictions: [{ label: 0, probabilities: [] }] }),
      evaluations: { find: () => Promise.resolve({ epoch: 1, evaluation: evaluation.result() }) },
    });
    // Any dataset's example is a 2x2 grey square: the routes' access is under test, not the pixels.
    const datasetExamples: DatasetExamples = {
      example: () => Promise.resolve({ pixels: new Uint8Array(4), shape: [2, 2], label: 0, count: 1 }),
    };
    const jobs = createJobsService({
      jobs: repository,
      ...idleQueue,
      publish,
      maxParameters: 20_000_000,
      maxJobMemoryBytes: 2 * 1024 ** 3,
      findDataset: (name, owner) => datasets.find(name, owner),
      logger: silentLogger(),
    });
    return buildApp({
      logger: silentLogger(),
      bodyLimit: 1024 * 1024,
      hub: createEventHub(subscriber, prefix),
      health: healthyChecks,
      jobs,
      sweeps: createSweepsService({
        sweeps: createSweepsRepository(database.prisma),
        jobs,
        limits: { maxParameters: 20_000_000 },
        logger: silentLogger(),
      }),
      datasets,
      models,
      datasetExamples,
      access: requiredAccess(database.prisma, redis, prefix, silentLogger(), { adminKey }),
      keys,
      dashboardRoot,
      webhooks: createWebhooksService({
        webhooks: createWebhooksRepository(prisma),
        deliveries: createDeliveriesRepository(prisma),
        secrets: createSecretBox('the key webhook secrets are sealed with in this test'),
        enqueue: () => Promise.resolve(),
        allowPrivateNetworks: false,
        resolve: () => Promise.resolve([]),
        retryForMs: 60_000,
        logger: silentLogger(),
      }),
      usage: createUsageService({ usage: createUsageRepository(prisma) }),
    });
  }

  /** A new webhook of `principal`'s owner, through the API. */
  async function createWebhook(principal: Principal): Promise<string> {
    const response = await app.inject({
      method: 'POST',
      url: '/webhooks',
      payload: { url: 'https://93.184.216.34/hook', events: ['job.completed'] },
      headers: headersOf(principal),
    });
    if (response.statusCode !== 201) throw new Error(response.body);
    return response.json<{ id: string }>().id;
  }

  /** A delivery of an event to a webhook, as the relay would have made it. */
  async function storeDelivery(webhookId: string): Promise<string> {
    const event = await database.prisma.webhookEvent.create({
      data: { type: 'job.completed', owner: 'alice', subjectId: randomUUID(), relayedAt: new Date() },
    });
    const delivery = await database.prisma.webhookDelivery.create({
      data: {
        id: randomUUID(),
        webhookId,
        eventId: event.id,
        eventType: event.type,
        body: '{}',
        retryUntil: new Date(),
      },
    });
    return delivery.id;
  }

  /** Stores a stand-in final model of a job: model.json with a one-file manifest, and 16 bytes of weights. */
  async function storeModel(jobId: string) {
    const artifacts = createPostgresArtifactStore(database.prisma);
    const modelJson = await artifacts.put([
      Buffer.from(JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] })),
    ]);
    const weights = await artifacts.put([Buffer.alloc(16)]);
    await createModelsRepository(database.prisma).save({
      jobId,
      version: 'final',
      epoch: 1,
      modelJsonArtifactId: modelJson.id,
      weightsArtifactId: weights.id,
      tfjsVersion: '4.22.0',
      inputShape: [28, 28],
      preprocessing: { scale: 1 / 255, mean: 0.1307, std: 0.3081 },
      classCount: 10,
      classNames: null,
      testAccuracy: 0.9,
    });
  }

  /** A new sweep of `principal`'s owner, through the API. */
  async function createSweep(principal: Principal): Promise<string> {
    const response = await app.inject({
      method: 'POST',
      url: '/sweeps',
      payload: sweepBody(),
      headers: headersOf(principal),
    });
    if (response.statusCode !== 201) throw new Error(response.body);
    return response.json<{ id: string }>().id;
  }

  const upload = (principal: Principal, form: FormData) =>
    app.inject({ method: 'POST', url: '/datasets', payload: form, headers: headersOf(principal) });

  beforeAll(async () => {
    database = await createTestDatabase('access');
    tmpDir = await mkdtemp(path.join(os.tmpdir(), 'access-test-'));
    repository = createJobsRepository(database.prisma);
    const prefix = queuePrefix('access');
    redis = createRedis(redisUrl, 'client');
    subscriber = createRedis(redisUrl, 'worker');
    publish = createEventPublisher(redis, prefix, () => undefined);
    const keys = testKeys(database.prisma);
    app = fullApp(prefix, keys);
    address = await app.listen({ host: '127.0.0.1', port: 0 });

    const revoked = await keys.issue('alice', 'member');
    await keys.revoke(revoked.id);
    keyOf.set('revoked', revoked.key);
    keyOf.set('viewer', (await keys.issue('alice', 'viewer')).key);
    keyOf.set('otherMember', (await keys.issue('bob', 'member')).key);
    keyOf.set('owningMember', (await keys.issue('alice', 'member')).key);
    keyOf.set('admin', (await keys.issue('ops', 'admin')).key);

    const ownedRun = async (owner: string) => {
      const { id } = await insertFinishedRun(repository);
      await database.prisma.job.update({ where: { id }, data: { owner } });
      return id;
    };
    const spec = parsedSmallSpec();
    fixture = {
      aliceJob: await ownedRun('alice'),
      aliceJob2: await ownedRun('alice'),
      bobJob: await ownedRun('bob'),
      freshAliceJob: async () => {
        const id = randomUUID();
        await repository.create({
          id,
          spec,
          parameterCount: specParameterCount(spec, bundled.mnist),
          totalSteps: totalSteps(spec, bundled.mnist),
          owner: 'alice',
        });
        return id;
      },
      freshEndedAliceJob: () => ownedRun('alice'),
      freshKeyId: async () => (await keys.issue('dave', 'viewer')).id,
      freshAliceDataset: async () => {
        const name = `alice-${++uploads}`;
        const response = await upload('owningMember', datasetForm(name));
        if (response.statusCode !== 201) throw new Error(response.body);
        return name;
      },
      aliceSweep: await createSweep('owningMember'),
      freshAliceSweep: () => createSweep('owningMember'),
      aliceWebhook: await createWebhook('owningMember'),
      aliceDelivery: '',
      freshAliceWebhook: () => createWebhook('owningMember'),
    };
    fixture.aliceDelivery = await storeDelivery(fixture.aliceWebhook);
    for (const index of [0, 1]) {
      const id = await ownedRun('alice');
      await database.prisma.job.update({ where: { id }, data: { sweepId: fixture.aliceSweep, sweepIndex: index } });
    }
    await storeModel(fixture.aliceJob);
    for (const [principal, name] of [
      ['owningMember', 'alice-set'],
      ['otherMember', 'bob-set'],
    ] as const) {
      const response = await upload(principal, datasetForm(name));
      if (response.statusCode !== 201) throw new Error(response.body);
    }
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
    subscriber.disconnect();
    await database.drop();
    await rm(tmpDir, { recursive: true, force: true });
  });

  const headersOf = (principal: Principal): Record<string, string> => {
    const key = keyOf.get(principal);
    return key === undefined ? {} : bearer(key);
  };

  describe.each(httpTable.map((row) => [`${row.method} ${row.url.toString().slice(0, 0)}${row.route}`, row] as const))(
    'HTTP %s',
    (_name, row) => {
      it.each(principals.map((principal, index) => [principal, row.expected[index]] as const))(
        'as %s answers %i',
        async (principal, expected) => {
          const url = await row.url(fixture);
          const body = row.body?.();
          const response = await app.inject({
            method: row.method,
            url,
            headers: headersOf(principal),
            ...(body === undefined ? {} : { payload: body as object }),
          });
          expect({ url, status: response.statusCode }).toEqual({ url, status: expected });
          if (expected === 401) expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
        },
      );
    },
  );

  describe.each(socketTable.map((row) => [row.route, row] as const))('WebSocket %s', (_name, row) => {
    it.each(principals.map((principal, index) => [principal, row.expected[index]] as const))(
      'as %s with an Authorization header answers %i',
      async (principal, expected) => {
        const { status, socket } = await handshake(`${address.replace('http', 'ws')}${row.path(fixture)}`, {
          headers: headersOf(principal),
        });
        socket.terminate();
        expect(status).toBe(expected);
      },
    );

    it.each(principals.map((principal, index) => [principal, row.expected[index]] as const))(
      'as %s with the key in a bearer.<key> subprotocol (the browser way) answers %i',
      async (principal, expected) => {
        const key = keyOf.get(principal);
        const { status, socket } = await handshake(`${address.replace('http', 'ws')}${row.path(fixture)}`, {
          protocols: key === undefined ? ['trainer'] : ['trainer', `bearer.${key}`],
        });
        // The server answers with `trainer`, never echoing the key.
        if (status === 101) expect(socket.protocol).toBe('trainer');
        socket.terminate();
        expect(status).toBe(expected);
      },
    );
  });

  it('covers every registered route in the tables, and every route declares its access', async () => {
    await app.ready();
    const routes = app.accessTable().filter((route) => route.method !== 'HEAD');
    expect(routes.filter((route) => route.access === undefined)).toEqual([]);
    const tabled = new Set([
      ...httpTable.map((row) => `${row.method} ${row.route}`),
      ...socketTable.map((row) => `GET ${row.route}`),
    ]);
    const untested = routes
      .filter((route) => !untabled(route.url))
      .map((route) => `${route.method} ${route.url}`)
      .filter((route) => !tabled.has(route));
    expect(untested).toEqual([]);
  });

  it("gives the HEAD route fastify adds for a GET route the GET route's access", async () => {
    const head = (principal: Principal) =>
      app.inject({ method: 'HEAD', url: `/jobs/${fixture.aliceJob}`, headers: headersOf(principal) });
    expect((await head('none')).statusCode).toBe(401);
    expect((await head('viewer')).statusCode).toBe(200);
    expect((await head('otherMember')).statusCode).toBe(404);
  });

  it('treats a route that declares no access as admin only (fail closed)', async () => {
    const keys = testKeys(database.prisma);
    const scratch = buildApp({
      logger: silentLogger(),
      bodyLimit: 1024,
      hub: createEventHub(subscriber, queuePrefix('access')),
      health: healthyChecks,
      jobs: createJobsService({
        jobs: repository,
        ...idleQueue,
        maxParameters: 1,
        maxJobMemoryBytes: 1,
        logger: silentLogger(),
      }),
      access: requiredAccess(database.prisma, redis, queuePrefix('access'), silentLogger()),
      keys,
    });
    // A route someone forgot to declare.
    scratch.get('/forgotten', () => ({ ok: true }));
    const as = async (principal: Principal) =>
      (await scratch.inject({ method: 'GET', url: '/forgotten', headers: headersOf(principal) })).statusCode;
    expect(await as('none')).toBe(401);
    expect(await as('viewer')).toBe(403);
    expect(await as('owningMember')).toBe(403);
    expect(await as('admin')).toBe(200);
    expect(scratch.accessTable().find((route) => route.url === '/forgotten')?.access).toBeUndefined();
    await scratch.close();
  });

  it('lists only the jobs a key may see; an admin sees all and may filter by owner', async () => {
    const ids = async (principal: Principal, query = '') =>
      (await app.inject({ method: 'GET', url: `/jobs?limit=100${query}`, headers: headersOf(principal) }))
        .json<{ runs: { id: string }[] }>()
        .runs.map((run) => run.id);
    expect(await ids('otherMember')).toContain(fixture.bobJob);
    expect(await ids('otherMember')).not.toContain(fixture.aliceJob);
    expect(await ids('viewer')).toContain(fixture.aliceJob);
    expect(await ids('viewer')).not.toContain(fixture.bobJob);
    // A non-admin's owner filter cannot widen what it sees.
    expect(await ids('viewer', '&owner=bob')).not.toContain(fixture.bobJob);
    expect(await ids('admin')).toEqual(expect.arrayContaining([fixture.aliceJob, fixture.bobJob]));
    const bobs = await ids('admin', '&owner=bob');
    expect(bobs).toContain(fixture.bobJob);
    expect(bobs).not.toContain(fixture.aliceJob);
  });

  it('lists only the sweeps a key may see, a page at a time; an admin sees all and may filter by owner', async () => {
    const bobSweep = await createSweep('otherMember');
    const page = async (principal: Principal, query = '') =>
      (await app.inject({ method: 'GET', url: `/sweeps${query}`, headers: headersOf(principal) })).json<{
        sweeps: { id: string; owner: string }[];
        nextCursor: string | null;
      }>();
    const ids = async (principal: Principal, query = '') => (await page(principal, query)).sweeps.map((s) => s.id);
    expect(await ids('viewer')).toContain(fixture.aliceSweep);
    expect(await ids('viewer')).not.toContain(bobSweep);
    const owners = async (principal: Principal, query = '') =>
      new Set((await page(principal, query)).sweeps.map((s) => s.owner));
    expect(await ids('otherMember')).toContain(bobSweep);
    expect(await owners('otherMember')).toEqual(new Set(['bob']));
    expect(await owners('viewer')).toEqual(new Set(['alice']));
    // A non-admin's owner filter cannot widen what it sees.
    expect(await ids('viewer', '?owner=bob')).not.toContain(bobSweep);
    expect(await ids('admin')).toEqual(expect.arrayContaining([fixture.aliceSweep, bobSweep]));
    expect(await ids('admin', '?owner=bob')).toContain(bobSweep);
    expect(await owners('admin', '?owner=bob')).toEqual(new Set(['bob']));
    expect(await owners('admin')).toEqual(new Set(['alice', 'bob', 'ops']));

    // Paging by 2 walks every one of alice's sweeps once, newest first, and ends with a null cursor.
    const all = await ids('viewer');
    expect(all.length).toBeGreaterThan(3);
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const next = await page('viewer', `?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(next.sweeps.length).toBeLessThanOrEqual(2);
      walked.push(...next.sweeps.map((s) => s.id));
      cursor = next.nextCursor;
    } while (cursor !== null);
    expect(walked).toEqual(all);
    const bad = await app.inject({ method: 'GET', url: '/sweeps?cursor=nonsense', headers: headersOf('viewer') });
    expect(bad.statusCode).toBe(400);
  });

  it("launches a sweep's runs as jobs of the sweep's owner", async () => {
    const runs = await database.prisma.job.findMany({ where: { sweepId: fixture.aliceSweep } });
    expect(runs.map((run) => run.owner)).toEqual(['alice', 'alice']);
    const row = await database.prisma.sweep.findUniqueOrThrow({ where: { id: fixture.aliceSweep } });
    expect(row.owner).toBe('alice');
  });

  it('lists the bundled datasets and the uploaded ones a key may see; an admin sees all and may filter by owner', async () => {
    const names = async (principal: Principal, query = '') =>
      (await app.inject({ method: 'GET', url: `/datasets${query}`, headers: headersOf(principal) }))
        .json<{ datasets: { name: string }[] }>()
        .datasets.map((dataset) => dataset.name);
    expect(await names('viewer')).toEqual(expect.arrayContaining(['mnist', 'alice-set']));
    expect(await names('viewer')).not.toContain('bob-set');
    expect(await names('otherMember')).toEqual(expect.arrayContaining(['mnist', 'bob-set']));
    expect(await names('otherMember')).not.toContain('alice-set');
    // A non-admin's owner filter cannot widen what it sees.
    expect(await names('viewer', '?owner=bob')).not.toContain('bob-set');
    expect(await names('admin')).toEqual(expect.arrayContaining(['mnist', 'alice-set', 'bob-set']));
    const bobs = await names('admin', '?owner=bob');
    expect(bobs).toEqual(expect.arrayContaining(['mnist', 'bob-set']));
    expect(bobs).not.toContain('alice-set');
  });

  it("lets a job use only the bundled datasets and its owner's own uploads", async () => {
    const submit = (principal: Principal, dataset: string) =>
      app.inject({
        method: 'POST',
        url: '/jobs',
        payload: {
          dataset,
          epochs: 1,
          learningRate: 0.1,
          batchSize: 4,
          model: {
            layers: [
              { type: 'dense', units: 4, activation: 'relu' },
              { type: 'dense', units: 2 },
            ],
          },
        },
        headers: headersOf(principal),
      });
    expect((await submit('owningMember', 'alice-set')).statusCode).toBe(201);
    // Another owner's dataset is as unknown as a missing one, for members and admins alike.
    const refused = await submit('otherMember', 'alice-set');
    const missingOne = await submit('otherMember', 'no-such-set');
    expect(refused.statusCode).toBe(400);
    const issues = (response: typeof refused) => response.json<{ issues: unknown[] }>().issues;
    expect(JSON.stringify(issues(refused))).toBe(
      JSON.stringify(issues(missingOne)).replaceAll('no-such-set', 'alice-set'),
    );
    expect((await submit('admin', 'alice-set')).statusCode).toBe(400);
    const row = await database.prisma.dataset.findUniqueOrThrow({ where: { name: 'alice-set' } });
    expect(row.owner).toBe('alice');
  });

  it("refuses an upload past its owner's dataset bytes with 413 and the numbers, other owners unaffected", async () => {
    const { key } = await testKeys(database.prisma).issue('frank', 'member');
    const first = await app.inject({ method: 'POST', url: '/datasets', payload: datasetForm(), headers: bearer(key) });
    expect(first.statusCode).toBe(201);
    const used = first.json<{ bytes: number }>().bytes;
    const big = stripes(600, 4, 2);
    const form = uploadForm(
      { name: 'frank-big' },
      { trainImages: big.images, trainLabels: big.labels, testImages: tinyTest.images, testLabels: tinyTest.labels },
    );
    const refused = await app.inject({ method: 'POST', url: '/datasets', payload: form, headers: bearer(key) });
    expect(refused.statusCode).toBe(413);
    const body = refused.json<{ code: string; error: string }>();
    expect(body.code).toBe('dataset_quota_exceeded');
    expect(body.error).toContain(`owner frank already take ${used} of the 10000 bytes allowed per owner`);
    expect(await database.prisma.dataset.count({ where: { name: 'frank-big' } })).toBe(0);
    expect((await upload('otherMember', datasetForm())).statusCode).toBe(201);
  });

  it("gives a submitted job the key's owner, and keeps idempotency keys apart per owner", async () => {
    const submit = (principal: Principal) =>
      app.inject({
        method: 'POST',
        url: '/jobs',
        payload: smallSpec({ name: 'same key' }),
        headers: { ...headersOf(principal), 'idempotency-key': 'shared-key' },
      });
    const bobs = (await submit('otherMember')).json<{ id: string }>();
    const alices = await submit('owningMember');
    expect(alices.headers['idempotent-replayed']).toBeUndefined();
    expect(alices.json<{ id: string }>().id).not.toBe(bobs.id);
    const row = await database.prisma.job.findUniqueOrThrow({ where: { id: bobs.id } });
    expect(row.owner).toBe('bob');
  });

  it('carries on WS /events only the events of jobs the key may see', async () => {
    const listen = async (principal: Principal) => {
      const { socket } = await handshake(`${address.replace('http', 'ws')}/events`, { headers: headersOf(principal) });
      const jobIds: string[] = [];
      socket.on('message', (data) => jobIds.push((JSON.parse((data as Buffer).toString()) as { jobId: string }).jobId));
      return { socket, jobIds };
    };
    const listeners = {
      viewer: await listen('viewer'),
      otherMember: await listen('otherMember'),
      admin: await listen('admin'),
    };
    // Subscriptions are live once the server has subscribed; give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const jobId of [fixture.aliceJob, fixture.bobJob, fixture.aliceJob2]) {
      publish({ type: 'status', jobId, status: 'completed', error: null });
    }
    await expect
      .poll(() => listeners.admin.jobIds, { timeout: 5000 })
      .toEqual([fixture.aliceJob, fixture.bobJob, fixture.aliceJob2]);
    await expect.poll(() => listeners.viewer.jobIds).toEqual([fixture.aliceJob, fixture.aliceJob2]);
    await expect.poll(() => listeners.otherMember.jobIds).toEqual([fixture.bobJob]);
    for (const { socket } of Object.values(listeners)) socket.terminate();
  });

  it('accepts ADMIN_API_KEY as an admin and says who a key acts as', async () => {
    const whoami = await app.inject({ method: 'GET', url: '/whoami', headers: bearer(adminKey) });
    expect(whoami.json()).toEqual({ owner: 'admin', role: 'admin', auth: 'required' });
    const viewer = await app.inject({ method: 'GET', url: '/whoami', headers: headersOf('viewer') });
    expect(viewer.json()).toEqual({ owner: 'alice', role: 'viewer', auth: 'required' });
  });

  it('answers a key once, lists keys without secrets, and revokes at once', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/keys',
      payload: { owner: 'erin', role: 'member', name: 'laptop' },
      headers: bearer(adminKey),
    });
    const { key, id } = created.json<{ key: string; id: string }>();
    expect(key).toMatch(/^trn_[A-Za-z0-9_-]{43}$/);
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: bearer(key) })).statusCode).toBe(200);
    const listed = await app.inject({ method: 'GET', url: '/keys', headers: bearer(adminKey) });
    expect(listed.body).not.toContain(key);
    const entry = listed.json<{ keys: Record<string, unknown>[] }>().keys.find((listedKey) => listedKey.id === id);
    expect(Object.keys(entry ?? {}).sort()).toEqual(['created', 'id', 'lastUsed', 'name', 'owner', 'role']);
    // A use is recorded without holding up the request that made it.
    const lastUsed = async () =>
      (await app.inject({ method: 'GET', url: '/keys', headers: bearer(adminKey) }))
        .json<{ keys: Record<string, unknown>[] }>()
        .keys.find((listedKey) => listedKey.id === id)?.lastUsed;
    await expect.poll(lastUsed).not.toBeNull();
    const stored = await database.prisma.apiKey.findUniqueOrThrow({ where: { id } });
    expect(JSON.stringify(stored)).not.toContain(key);
    expect((await app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: bearer(adminKey) })).statusCode).toBe(
      204,
    );
    expect((await app.inject({ method: 'GET', url: '/whoami', headers: bearer(key) })).statusCode).toBe(401);
    expect((await app.inject({ method: 'DELETE', url: `/keys/${id}`, headers: bearer(adminKey) })).statusCode).toBe(
      404,
    );
  });

  it('sends security headers with a script policy of its own origin only', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    const policy = response.headers['content-security-policy'];
    expect(policy).toMatch(/script-src 'self'(;|$)/);
    expect(policy).not.toContain("unsafe-inline'; script");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    // The same headers on an error answer and on an unknown path.
    for (const url of ['/jobs/not-a-uuid', '/no/such/path']) {
      const other = await app.inject({ method: 'GET', url, headers: bearer(adminKey) });
      expect(other.statusCode).toBeGreaterThanOrEqual(400);
      expect(other.headers['content-security-policy']).toBe(policy);
      expect(other.headers['x-frame-options']).toBe('SAMEORIGIN');
    }
    // CORS is off without CORS_ORIGINS.
    const preflight = await app.inject({
      method: 'OPTIONS',
      url: '/jobs',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });
});
