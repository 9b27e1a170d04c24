import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderExample } from '../../../src/api/datasets/dataset-images.js';
import { createDatasetsService } from '../../../src/api/datasets/datasets-service.js';
import { InvalidRequest } from '../../../src/domain/errors.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import type { DatasetView } from '../../../src/api/datasets/dataset-schemas.js';
import { createRedis, type Redis } from '../../../src/queue/redis.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createDatasetsRepository } from '../../../src/store/datasets-repository.js';
import { mnistDataDirectory } from '../../../src/datasets/loading/mnist.js';
import { bearer, requiredAccess, testKeys } from '../../helpers/access.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { idxFile, stripes, uploadForm } from '../../helpers/dataset-files.js';
import { queuePrefix, redisUrl, silentLogger } from '../../helpers/env.js';
import { appWithoutStore } from '../http/app-stand-ins.js';

describe('GET /datasets/:name/examples/:split/:index.png', () => {
  let app: FastifyInstance;
  const get = (url: string) => app.inject({ method: 'GET', url });

  beforeAll(async () => {
    app = appWithoutStore();
    await app.ready();
  });
  afterAll(() => app.close());

  it('renders an MNIST example as a grey PNG of its pixels, with its label', async () => {
    const images = await readFile(path.join(mnistDataDirectory(), 't10k-images-idx3-ubyte'));
    const labels = await readFile(path.join(mnistDataDirectory(), 't10k-labels-idx1-ubyte'));
    for (const index of [0, 1234, 9999]) {
      const response = await get(`/datasets/mnist/examples/test/${index}.png`);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('image/png');
      expect(response.headers['x-example-label']).toBe(String(labels[8 + index]));
      const metadata = await sharp(response.rawPayload).metadata();
      expect([metadata.width, metadata.height, metadata.channels]).toEqual([28, 28, 1]);
      const data = await sharp(response.rawPayload).toColourspace('b-w').raw().toBuffer();
      expect(data.equals(images.subarray(16 + index * 784, 16 + (index + 1) * 784))).toBe(true);
    }
  });

  it('scales it up on request, pixel for pixel', async () => {
    const response = await get('/datasets/mnist/examples/train/5.png?scale=8');
    expect(response.statusCode).toBe(200);
    const metadata = await sharp(response.rawPayload).metadata();
    expect([metadata.width, metadata.height]).toEqual([224, 224]);
  });

  it('answers 404 for an unknown dataset or an index past the end of the split', async () => {
    for (const url of ['/datasets/cifar/examples/test/0.png', '/datasets/mnist/examples/test/10000.png']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(404);
      expect(response.json<ErrorBody>().code).toBe('not_found');
    }
    expect((await get('/datasets/mnist/examples/test/10000.png')).json<ErrorBody>().error).toMatch(/0 to 9999/);
  });

  it('draws at a smaller scale what would pass 4096x4096 pixels, and nothing larger than that at all', async () => {
    const square = (side: number) => ({
      pixels: new Uint8Array(side * side),
      shape: [side, side] as [number, number],
      label: 2,
      count: 1,
    });
    const request = { dataset: 'big', split: 'test' as const, index: 0 };
    const drawn = await renderExample(square(300), { ...request, scale: 16 });
    expect(await sharp(drawn.png).metadata()).toMatchObject({ width: 3900, height: 3900 });
    const refused = await renderExample(square(5000), { ...request, scale: 1 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(InvalidRequest);
    expect((refused as InvalidRequest).issues).toEqual([
      { path: 'index', message: 'the example is 5000x5000; examples above 16777216 pixels are not drawn' },
    ]);
  });

  it('answers 400 for a bad split, index or scale', async () => {
    for (const url of [
      '/datasets/mnist/examples/validation/0.png',
      '/datasets/mnist/examples/test/-1.png',
      '/datasets/mnist/examples/test/1e3.png',
      '/datasets/mnist/examples/test/0.png?scale=17',
      '/datasets/mnist/examples/test/0.png?scale=0',
      '/datasets/mnist/examples/test/0.png?size=2',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(400);
    }
  });
});

describe('GET /datasets/:name/examples/:split/:index.png of uploaded datasets', () => {
  let database: TestDatabase;
  let redis: Redis;
  let tmpDir: string;
  let app: FastifyInstance;
  const keyOf = new Map<'alice' | 'bob' | 'admin', Record<string, string>>();
  const as = (who: 'alice' | 'bob' | 'admin', url: string) =>
    app.inject({ method: 'GET', url, headers: keyOf.get(who) });
  /** The PNG's pixels and size; a grey PNG's one value per pixel (sharp would otherwise give three). */
  const raw = async (png: Buffer) => {
    const grey = (await sharp(png).metadata()).channels === 1;
    return (grey ? sharp(png).toColourspace('b-w') : sharp(png)).raw().toBuffer({ resolveWithObject: true });
  };

  const grey = { train: stripes(10, 5, 3), test: stripes(4, 5, 3, 1) };
  // 2x2 colour pictures: example k is all (k, 2k, 3k) but for one pixel.
  const colourPixels = (count: number) =>
    Array.from({ length: count * 12 }, (_, at) => (at % 12 < 3 ? 255 : Math.floor(at / 12) * ((at % 3) + 1)));

  async function upload(form: FormData): Promise<DatasetView> {
    const response = await app.inject({ method: 'POST', url: '/datasets', payload: form, headers: keyOf.get('alice') });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<DatasetView>();
  }

  beforeAll(async () => {
    database = await createTestDatabase('dataset_examples');
    redis = createRedis(redisUrl, 'client');
    tmpDir = await mkdtemp(path.join(os.tmpdir(), 'dataset-examples-test-'));
    const keys = testKeys(database.prisma);
    keyOf.set('alice', bearer((await keys.issue('alice', 'member')).key));
    keyOf.set('bob', bearer((await keys.issue('bob', 'member')).key));
    keyOf.set('admin', bearer((await keys.issue('root', 'admin')).key));
    app = appWithoutStore({
      // Chunks far smaller than an example, so examples are read across chunk boundaries.
      datasets: createDatasetsService({
        datasets: createDatasetsRepository(database.prisma),
        artifacts: createPostgresArtifactStore(database.prisma, { chunkBytes: 16 }),
        limits: { maxUploadBytes: 1024 ** 2, maxExamples: 1000, maxTotalBytes: 1024 ** 2 },
        tmpDir,
        logger: silentLogger(),
      }),
      access: requiredAccess(database.prisma, redis, queuePrefix('dataset-examples'), silentLogger()),
    });
    await app.ready();
    await upload(
      uploadForm(
        { name: 'alice-stripes' },
        {
          trainImages: grey.train.images,
          trainLabels: grey.train.labels,
          testImages: grey.test.images,
          testLabels: grey.test.labels,
        },
      ),
    );
    await upload(
      uploadForm(
        { name: 'alice-colour' },
        {
          trainImages: idxFile([3, 2, 2, 3], colourPixels(3)),
          trainLabels: idxFile([3], [0, 1, 0]),
          testImages: idxFile([2, 2, 2, 3], colourPixels(2)),
          testLabels: idxFile([2], [1, 0]),
        },
      ),
    );
    // Raw values from -2 to 6 in examples of 2x3, and the same as flat rows.
    const rows = ['1,-2,0,2,4,6,6', '0,6,4,2,0,-2,-2', '1,0,0,0,0,0,0'].join('\n');
    await upload(uploadForm({ name: 'alice-table', shape: '[2,3]' }, { train: rows, test: rows }));
    await upload(uploadForm({ name: 'alice-flat' }, { train: rows, test: rows }));
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
    await database.drop();
    await rm(tmpDir, { recursive: true, force: true });
  });

  it('renders the stored pixels and label of an uploaded IDX dataset, for its owner and an admin', async () => {
    for (const who of ['alice', 'admin'] as const) {
      for (const [split, index] of [
        ['test', 3],
        ['train', 0],
        ['train', 9],
      ] as const) {
        const response = await as(who, `/datasets/alice-stripes/examples/${split}/${index}.png`);
        expect(response.statusCode, `${who} ${split} ${index}`).toBe(200);
        expect(response.headers['content-type']).toBe('image/png');
        expect(response.headers['cache-control']).toBe('private, max-age=300');
        expect(response.headers['x-example-label']).toBe(String(grey[split].labelValues[index]));
        const { data, info } = await raw(response.rawPayload);
        expect([info.width, info.height, info.channels]).toEqual([5, 5, 1]);
        expect([...data]).toEqual([...grey[split].pixels.subarray(index * 25, (index + 1) * 25)]);
      }
    }
    const scaled = await as('alice', '/datasets/alice-stripes/examples/test/0.png?scale=4');
    expect((await raw(scaled.rawPayload)).info).toMatchObject({ width: 20, height: 20 });
  });

  it('renders colour images in colour', async () => {
    const response = await as('alice', '/datasets/alice-colour/examples/test/1.png');
    expect(response.statusCode).toBe(200);
    const { data, info } = await raw(response.rawPayload);
    expect([info.width, info.height, info.channels]).toEqual([2, 2, 3]);
    expect([...data]).toEqual(colourPixels(2).slice(12));
  });

  it('draws CSV values from the lowest to the highest of the training features as black to white', async () => {
    const shaped = await as('alice', '/datasets/alice-table/examples/train/0.png');
    expect(shaped.statusCode).toBe(200);
    expect(shaped.headers['x-example-label']).toBe('1');
    const { data, info } = await raw(shaped.rawPayload);
    expect([info.width, info.height, info.channels]).toEqual([3, 2, 1]);
    expect([...data]).toEqual([0, 64, 128, 191, 255, 255]);
    const flat = await as('alice', '/datasets/alice-flat/examples/test/1.png');
    expect(flat.statusCode).toBe(200);
    expect((await raw(flat.rawPayload)).info).toMatchObject({ width: 6, height: 1 });
  });

  it('does not read examples larger than DATASET_MAX_EXAMPLE_BYTES, as a dataset from before the limit may have', async () => {
    const strict = appWithoutStore({
      datasets: createDatasetsService({
        datasets: createDatasetsRepository(database.prisma),
        artifacts: createPostgresArtifactStore(database.prisma),
        limits: { maxUploadBytes: 1024, maxExamples: 10, maxTotalBytes: 1024, maxExampleBytes: 24 },
        tmpDir,
        logger: silentLogger(),
      }),
    });
    const response = await strict.inject({ method: 'GET', url: '/datasets/alice-stripes/examples/test/0.png' });
    await strict.close();
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorBody>().issues).toEqual([
      {
        path: 'index',
        message:
          'examples of alice-stripes are 25 bytes; examples above 24 bytes (DATASET_MAX_EXAMPLE_BYTES) are not shown',
      },
    ]);
  });

  it("answers another owner's dataset exactly like a missing one, and an index past the end with the range", async () => {
    const others = await as('bob', '/datasets/alice-stripes/examples/test/0.png');
    const missing = await as('bob', '/datasets/nobody-has-it/examples/test/0.png');
    expect([others.statusCode, missing.statusCode]).toEqual([404, 404]);
    expect(others.body.replaceAll('alice-stripes', 'nobody-has-it')).toBe(missing.body);
    const past = await as('alice', '/datasets/alice-stripes/examples/test/4.png');
    expect(past.statusCode).toBe(404);
    expect(past.json<ErrorBody>().error).toMatch(/examples 0 to 3; not 4/);
  });
});
