import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetsService } from '../../src/api/datasets/datasets-service.js';
import type { ErrorBody } from '../../src/api/http/common-schemas.js';
import type { DatasetView } from '../../src/api/datasets/dataset-schemas.js';
import { datasetNamePattern } from '../../src/domain/datasets.js';
import { createPostgresArtifactStore } from '../../src/store/artifacts/postgres-artifact-store.js';
import { createDatasetsRepository } from '../../src/store/datasets-repository.js';
import { appWithoutStore } from '../api/http/app-stand-ins.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { partsForm, stripes, uploadForm, type FormPart } from '../helpers/dataset-files.js';
import { silentLogger } from '../helpers/env.js';

// Names that mean something to every JavaScript object, as field names, class names, CSV headers and labels.
const hostileNames = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];

/** Whether anything was written where every object would see it. */
function prototypePolluted(): boolean {
  const probe = {} as Record<string, unknown>;
  return (
    Object.getOwnPropertyNames(Object.prototype).some((name) => !hostileBaseline.has(name)) ||
    probe.polluted !== undefined ||
    probe.x !== undefined
  );
}
const hostileBaseline = new Set(Object.getOwnPropertyNames(Object.prototype));

describe('uploads carrying names that are properties of every object', () => {
  let database: TestDatabase;
  let tmpDir: string;
  let app: FastifyInstance;
  const train = stripes(12, 3, 3);
  const test = stripes(6, 3, 3, 1);
  const idxFiles = {
    trainImages: train.images,
    trainLabels: train.labels,
    testImages: test.images,
    testLabels: test.labels,
  };

  async function send(form: FormData) {
    const response = await app.inject({ method: 'POST', url: '/datasets', payload: form });
    return { status: response.statusCode, body: response.json<DatasetView & ErrorBody>() };
  }

  beforeAll(async () => {
    database = await createTestDatabase('hostile_uploads');
    tmpDir = await mkdtemp(path.join(os.tmpdir(), 'hostile-uploads-'));
    app = appWithoutStore({
      datasets: createDatasetsService({
        datasets: createDatasetsRepository(database.prisma),
        artifacts: createPostgresArtifactStore(database.prisma),
        limits: { maxUploadBytes: 1024 ** 2, maxExamples: 1000, maxTotalBytes: 1024 ** 3 },
        tmpDir,
        logger: silentLogger(),
      }),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await database.drop();
    await rm(tmpDir, { recursive: true, force: true });
  });

  it('keeps class names such as __proto__ and constructor as plain names', async () => {
    const classNames = ['__proto__', 'constructor', 'prototype'];
    const { status, body } = await send(
      uploadForm({ name: 'proto-classes', classNames: JSON.stringify(classNames) }, idxFiles),
    );
    expect(status, JSON.stringify(body)).toBe(201);
    expect(body.classes.map((entry) => entry.name)).toEqual(classNames);
    const read = await app.inject({ method: 'GET', url: '/datasets/proto-classes' });
    expect(read.json<DatasetView>().classes.map((entry) => entry.name)).toEqual(classNames);
    expect(prototypePolluted()).toBe(false);
  });

  it('reads CSV headers named __proto__ and constructor as columns, and refuses such labels as not numbers', async () => {
    const rows = ['0,1,2', '1,3,4', '2,5,6', '0,7,8'];
    const header = '__proto__,constructor,toString';
    const byName = await send(
      uploadForm(
        { name: 'proto-header', labelColumn: '__proto__' },
        { train: [header, ...rows].join('\n'), test: [header, ...rows].join('\n') },
      ),
    );
    expect(byName.status, JSON.stringify(byName.body)).toBe(201);
    expect(byName.body).toMatchObject({ inputShape: [2], numClasses: 3, trainSize: 4 });
    const missing = await send(
      uploadForm(
        { name: 'proto-missing', labelColumn: 'prototype' },
        { train: [header, ...rows].join('\n'), test: rows[0]! },
      ),
    );
    expect(missing.status).toBe(400);
    expect(missing.body.issues?.[0]).toMatchObject({
      path: 'train',
      message: expect.stringMatching(/no column is called "prototype"/) as string,
    });
    for (const label of hostileNames) {
      const labelled = await send(
        uploadForm({ name: 'proto-labels', header: 'no' }, { train: `0,1\n${label},2\n`, test: '0,1\n' }),
      );
      expect(labelled.status).toBe(400);
      expect(labelled.body.issues?.[0]).toMatchObject({
        path: 'train',
        message: expect.stringMatching(/^line 2, column 1: .* is not a number/) as string,
      });
    }
    expect(prototypePolluted()).toBe(false);
  });

  it('lets a dataset be called constructor like any other name, and refuses __proto__ as a name', async () => {
    const created = await send(uploadForm({ name: 'constructor' }, idxFiles));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect((await app.inject({ method: 'GET', url: '/datasets/constructor' })).statusCode).toBe(200);
    const example = await app.inject({ method: 'GET', url: '/datasets/constructor/examples/test/0.png' });
    expect(example.statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: '/datasets/constructor' })).statusCode).toBe(204);
    const refused = await send(uploadForm({ name: '__proto__' }, idxFiles));
    expect(refused.status).toBe(400);
    expect(refused.body.issues?.[0]?.path).toBe('name');
    for (const name of hostileNames) {
      // Not being a dataset name at all is a 400; a name nobody has, a 404.
      const dataset = await app.inject({ method: 'GET', url: `/datasets/${name}` });
      expect(dataset.statusCode, name).toBe(datasetNamePattern.test(name) ? 404 : 400);
      const example = await app.inject({ method: 'GET', url: `/datasets/${name}/examples/test/0.png` });
      expect(example.statusCode, name).toBe(404);
    }
    expect(prototypePolluted()).toBe(false);
  });

  it('answers forms of hostile field names and values with 4xx, never 5xx, and leaves Object.prototype alone', async () => {
    const fieldName = fc.oneof(
      fc.constantFrom(...hostileNames, 'name', 'classNames', 'labelColumn', 'shape', 'trainImages', 'train', 'x'),
      fc.string({ maxLength: 20 }),
    );
    const value = fc.oneof(
      fc.constantFrom(
        '{"__proto__":{"polluted":1}}',
        '["__proto__"]',
        '{"constructor":{"prototype":{"x":1}}}',
        '__proto__',
      ),
      fc.string({ maxLength: 30 }),
    );
    const part = fc.record({ name: fieldName, value, file: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 8 }), async (parts: FormPart[]) => {
        const { status, body } = await send(partsForm([{ name: 'name', value: 'hostile-form' }, ...parts]));
        expect(status, JSON.stringify(parts)).toBeGreaterThanOrEqual(400);
        expect(status, JSON.stringify(parts)).toBeLessThan(500);
        expect(typeof body.error).toBe('string');
      }),
      { numRuns: 150 },
    );
    expect(prototypePolluted()).toBe(false);
    expect(await database.prisma.dataset.count({ where: { name: 'hostile-form' } })).toBe(0);
  });
});
