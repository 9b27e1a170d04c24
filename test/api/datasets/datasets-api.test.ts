import { mkdtemp, readdir, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/http/app.js';
import { createDatasetsService, type DatasetLimits } from '../../../src/api/datasets/datasets-service.js';
import type { EventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import type { DatasetSummary, DatasetView } from '../../../src/api/datasets/dataset-schemas.js';
import type { JobView } from '../../../src/api/jobs/schemas.js';
import { createPostgresArtifactStore } from '../../../src/store/artifacts/postgres-artifact-store.js';
import { createDatasetsRepository } from '../../../src/store/datasets-repository.js';
import { createJobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { gzip, idxFile, partsForm, stripes, uploadForm, type FormPart } from '../../helpers/dataset-files.js';
import { silentLogger } from '../../helpers/env.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';

const unsubscribed = () => Promise.resolve(() => Promise.resolve());
const quietHub: EventHub = { subscribeJob: unsubscribed, subscribeAll: unsubscribed, onReconnect: () => undefined };

describe('datasets API', () => {
  let database: TestDatabase;
  let tmpDir: string;
  const apps: FastifyInstance[] = [];
  let address: string;

  async function start(limits: Partial<DatasetLimits> = {}): Promise<string> {
    const prisma = database.prisma;
    const datasets = createDatasetsService({
      datasets: createDatasetsRepository(prisma),
      artifacts: createPostgresArtifactStore(prisma, { chunkBytes: 1024 }),
      limits: { maxUploadBytes: 1024 ** 3, maxExamples: 100_000, maxTotalBytes: 1024 ** 3, ...limits },
      tmpDir,
      logger: silentLogger(),
    });
    const jobs = createJobsService({
      jobs: createJobsRepository(prisma),
      ...idleQueue,
      maxParameters: 20_000_000,
      maxJobMemoryBytes: 2 * 1024 ** 3,
      findDataset: (name, owner) => datasets.find(name, owner),
      logger: silentLogger(),
    });
    const app = buildApp({
      logger: silentLogger(),
      bodyLimit: 1024 * 1024,
      hub: quietHub,
      health: healthyChecks,
      jobs,
      datasets,
    });
    apps.push(app);
    return app.listen({ host: '127.0.0.1', port: 0 });
  }

  beforeAll(async () => {
    database = await createTestDatabase('datasets_api');
    tmpDir = await mkdtemp(path.join(os.tmpdir(), 'datasets-api-test-'));
    address = await start();
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await database.drop();
    await rm(tmpDir, { recursive: true, force: true });
  });

  /** Rows of everything an upload could leave behind. */
  async function traces() {
    const [datasets, artifacts, chunks] = await Promise.all([
      database.prisma.dataset.count(),
      database.prisma.artifact.count(),
      database.prisma.artifactChunk.count(),
    ]);
    return { datasets, artifacts, chunks, uploadDirectories: (await readdir(tmpDir)).length };
  }

  async function upload(fields: Record<string, string>, files: Record<string, Buffer | string>, at = address) {
    const response = await fetch(`${at}/datasets`, { method: 'POST', body: uploadForm(fields, files) });
    return { status: response.status, body: (await response.json()) as DatasetView & ErrorBody };
  }

  const tiny = stripes(40, 4, 4);
  const tinyTest = stripes(12, 4, 4, 1);
  const idxFiles = {
    trainImages: gzip(tiny.images),
    trainLabels: tiny.labels,
    testImages: tinyTest.images,
    testLabels: gzip(tinyTest.labels),
  };

  describe('a valid upload', () => {
    it('stores IDX files (gzip or not) with shape, classes, counts and statistics', async () => {
      const { status, body } = await upload(
        { name: 'stripes', description: 'rows', classNames: '["a","b","c","d"]' },
        idxFiles,
      );
      expect(status).toBe(201);
      expect(body).toMatchObject({
        name: 'stripes',
        format: 'idx',
        bundled: false,
        inputShape: [4, 4, 1],
        numClasses: 4,
        trainSize: 40,
        testSize: 12,
      });
      expect(body.classes).toEqual([
        { label: 0, name: 'a', trainCount: 10, testCount: 3 },
        { label: 1, name: 'b', trainCount: 10, testCount: 3 },
        { label: 2, name: 'c', trainCount: 10, testCount: 3 },
        { label: 3, name: 'd', trainCount: 10, testCount: 3 },
      ]);
      const scaled = [...tiny.pixels].map((value) => value / 255);
      const mean = scaled.reduce((sum, value) => sum + value, 0) / scaled.length;
      const std = Math.sqrt(scaled.reduce((sum, value) => sum + (value - mean) ** 2, 0) / scaled.length);
      expect(body.statistics.mean).toBeCloseTo(mean, 10);
      expect(body.statistics.std).toBeCloseTo(std, 10);
      expect(body.statistics.scale).toBeCloseTo(1 / 255, 12);
      expect(body.bytes).toBe(52 * 16 + 52 * 2);
      expect(body.sha256).toMatch(/^[0-9a-f]{64}$/);

      const fetched = (await (await fetch(`${address}/datasets/stripes`)).json()) as DatasetView;
      expect(fetched).toEqual(body);
      const list = (await (await fetch(`${address}/datasets`)).json()) as { datasets: DatasetSummary[] };
      expect(list.datasets.map((dataset) => [dataset.name, dataset.bundled])).toEqual([
        ['mnist', true],
        ['stripes', false],
      ]);
    });

    it('stores CSV with a header, a label column by name, a shape and a seeded held-out test split', async () => {
      const rows = Array.from({ length: 50 }, (_, index) => `${index * 0.5},${index % 3},${-index},1e-3,2`);
      const csv = ['x,label,y,z,w', ...rows].join('\r\n') + '\r\n';
      const fields = { labelColumn: 'label', testFraction: '0.2', seed: '3', shape: '[2,2]' };
      const first = await upload({ name: 'table', ...fields }, { train: csv });
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({
        format: 'csv',
        inputShape: [2, 2],
        numClasses: 3,
        trainSize: 40,
        testSize: 10,
      });
      expect(first.body.statistics.scale).toBe(1);
      expect(first.body.statistics.min).toBe(-49);
      // The same seed holds out the same examples.
      const again = await upload({ name: 'table-again', ...fields }, { train: csv });
      expect(again.body.sha256).toBe(first.body.sha256);
      const otherSeed = await upload({ name: 'table-other', ...fields, seed: '4' }, { train: csv });
      expect(otherSeed.body.sha256).not.toBe(first.body.sha256);
    });
    it('stores CSV with its label in the last column', async () => {
      const { status, body } = await upload(
        { name: 'label-last', labelColumn: '2', header: 'no' },
        { train: '0.5,2,1\n-1,4,0\n', test: '3,3,1\n' },
      );
      expect(status, JSON.stringify(body)).toBe(201);
      expect(body).toMatchObject({ inputShape: [2], numClasses: 2, trainSize: 2, testSize: 1 });
      expect(body.statistics).toMatchObject({ min: -1, max: 4 });
    });

    it('stores CSV rows wider than one write buffer (262,145 features), value for value', async () => {
      const features = 262_145;
      const row = (label: number) =>
        [label, ...Array.from({ length: features }, (_, column) => (column + label) % 7)].join(',');
      const { status, body } = await upload(
        { name: 'wide-rows' },
        { train: [row(0), row(1), row(2)].join('\n'), test: row(1) },
      );
      expect(status, JSON.stringify(body)).toBe(201);
      expect(body).toMatchObject({ inputShape: [features], trainSize: 3, testSize: 1 });
      expect(body.bytes).toBe(4 * features * 4 + 4 * 2);
      expect(body.statistics).toMatchObject({ min: 0, max: 6 });
    });
  });

  describe('a broken upload gets a 4xx naming the position of the problem and leaves no trace', () => {
    const shortImages = idxFile([40, 4, 4], tiny.pixels).subarray(0, 16 + 100);
    const cases: [string, Record<string, string>, Record<string, Buffer | string>, number, string, RegExp][] = [
      [
        'wrong IDX magic number',
        {},
        { ...idxFiles, trainImages: Buffer.from('label,a\n1,2\n') },
        400,
        'trainImages',
        /^byte 0: wrong magic number/,
      ],
      [
        'unsupported element type',
        {},
        { ...idxFiles, trainImages: Buffer.from([0, 0, 0x0d, 3, 0, 0, 0, 1]) },
        400,
        'trainImages',
        /^byte 2: element type 0x0d/,
      ],
      [
        'wrong dimension count',
        {},
        { ...idxFiles, trainLabels: idxFile([40, 1], tiny.labelValues) },
        400,
        'trainLabels',
        /^byte 3: wrong dimension count.*has 2/,
      ],
      [
        'a file shorter than its header says (gzip)',
        {},
        { ...idxFiles, trainImages: gzip(shortImages) },
        400,
        'trainImages',
        /^byte 116: the file is shorter than its header says: it ends after 100 of the 640 data bytes/,
      ],
      [
        'a header cut short',
        {},
        { ...idxFiles, testLabels: Buffer.from([0, 0, 8, 1, 0]) },
        400,
        'testLabels',
        /^byte 5: the file ends inside its 8-byte IDX header/,
      ],
      [
        'a damaged gzip stream',
        {},
        { ...idxFiles, trainImages: gzip(tiny.images).subarray(0, 30) },
        400,
        'trainImages',
        /gzip-compressed content is damaged or cut short/,
      ],
      [
        'image and label counts that differ',
        {},
        { ...idxFiles, testLabels: idxFile([11], tinyTest.labelValues.slice(0, 11)) },
        400,
        'testLabels',
        /^byte 4: 11 labels, but testImages has 12 examples/,
      ],
      [
        'a label outside 0..classes-1',
        { classNames: '["a","b","c"]' },
        idxFiles,
        400,
        'trainLabels',
        /^byte 11 \(example 3\): label 3 is outside 0\.\.2/,
      ],
      [
        'fewer than 2 classes',
        {},
        {
          ...idxFiles,
          trainLabels: idxFile([40], new Array(40).fill(0)),
          testLabels: idxFile([12], new Array(12).fill(0)),
        },
        400,
        'trainLabels',
        /every label is 0: a dataset needs at least 2 classes/,
      ],
      ['more than 1000 classes', { numClasses: '1001' }, idxFiles, 400, 'numClasses', /1000/],
      [
        'an empty IDX split',
        {},
        { ...idxFiles, testImages: idxFile([0, 4, 4], []), testLabels: idxFile([0], []) },
        400,
        'testImages',
        /^byte 4: the example count is 0: the split is empty/,
      ],
      [
        'CSV rows of different lengths',
        {},
        { train: '1,2,3\n0,4,5\n1,6\n', test: '0,1,1\n' },
        400,
        'train',
        /^line 3: 2 columns, but line 1 has 3/,
      ],
      [
        'a CSV row with a cell too many, its label last',
        { labelColumn: '2' },
        { train: '1,2,0\n4,5,1,7\n', test: '0,1,1\n' },
        400,
        'train',
        /^line 2: 4 columns, but line 1 has 3/,
      ],
      [
        'a non-numeric CSV cell',
        {},
        { train: '1,2,3\n0,4,abc\n', test: '0,1,1\n' },
        400,
        'train',
        /^line 2, column 3: "abc" is not a number/,
      ],
      [
        'NaN in a CSV cell',
        {},
        { train: '1,2,3\n0,NaN,5\n', test: '0,1,1\n' },
        400,
        'train',
        /^line 2, column 2: NaN is not allowed/,
      ],
      [
        'Infinity in a CSV cell',
        {},
        { train: 'y,a,b\n1,2,3\n0,4,-Infinity\n', test: '0,1,1\n' },
        400,
        'train',
        /^line 3, column 3: -Infinity is not allowed/,
      ],
      [
        'a CSV label over 999',
        {},
        { train: '1,2\n1000,4\n', test: '0,1\n' },
        400,
        'train',
        /^line 2, column 1: label 1000 is outside 0\.\.999/,
      ],
      ['an empty CSV split', {}, { train: '1,2\n0,4\n', test: 'label,x\n' }, 400, 'test', /the split is empty/],
      [
        'CSV rows of a label alone',
        {},
        { train: '1\n0\n', test: '0\n' },
        400,
        'train',
        /^line 1: a row needs at least one feature besides its label/,
      ],
      [
        'a test CSV with other columns',
        {},
        { train: '1,2\n0,4\n', test: '0,1,2\n' },
        400,
        'test',
        /^line 1: 3 columns, but the train file has 2/,
      ],
      [
        'a label column by name without a header',
        { labelColumn: 'label', header: 'no' },
        { train: '1,2\n0,4\n', test: '0,1\n' },
        400,
        'train',
        /no header row/,
      ],
      [
        'a shape that does not fit',
        { shape: '[3,3]' },
        { train: '1,2\n0,4\n', test: '0,1\n' },
        400,
        'shape',
        /has 9 values, but each example has 1 features/,
      ],
      [
        'a missing test split',
        {},
        { trainImages: idxFiles.trainImages, trainLabels: idxFiles.trainLabels },
        400,
        'testImages',
        /is required/,
      ],
      [
        'test images of another shape with as many pixels',
        {},
        { ...idxFiles, testImages: idxFile([12, 2, 8], tinyTest.pixels) },
        400,
        'testImages',
        /examples of 2x8x1, but the train split's are 4x4x1/,
      ],
      [
        'images above the example size limit, refused from the header alone',
        {},
        { ...idxFiles, trainImages: gzip(idxFile([2, 25_000, 25_000], [])) },
        400,
        'trainImages',
        /^byte 8: an example of 25000x25000 is 625000000 bytes; at most 16777216 \(DATASET_MAX_EXAMPLE_BYTES\)/,
      ],
      [
        'images above the example size limit with a held-out test split',
        { testFraction: '0.5' },
        { trainImages: idxFile([2, 25_000, 25_000], []), trainLabels: idxFile([2], [0, 1]) },
        400,
        'trainImages',
        /DATASET_MAX_EXAMPLE_BYTES/,
      ],
      ['a bad name', { name: 'Not OK' }, idxFiles, 400, 'name', /lowercase/],
      ['a bundled name', { name: 'mnist' }, idxFiles, 409, '', /already exists/],
      ['a taken name', { name: 'stripes' }, idxFiles, 409, '', /already exists/],
    ];

    beforeEach(async () => {
      // The taken-name case needs it; other cases must not disturb it.
      if ((await database.prisma.dataset.count({ where: { name: 'stripes' } })) === 0) {
        expect((await upload({ name: 'stripes' }, idxFiles)).status).toBe(201);
      }
    });

    it.each(cases)('%s', async (_label, fields, files, status, field, message) => {
      const before = await traces();
      const { status: answered, body } = await upload({ name: 'broken', ...fields }, files);
      expect(answered, JSON.stringify(body)).toBe(status);
      if (field) expect(body.issues).toContainEqual({ path: field, message: expect.stringMatching(message) as string });
      else expect(body.error).toMatch(message);
      expect(await traces()).toEqual(before);
    });

    it('refuses an upload over the size limit with 413 naming the limit, keeping nothing', async () => {
      const small = await start({ maxUploadBytes: 200 });
      const before = await traces();
      const { status, body } = await upload({ name: 'big' }, idxFiles, small);
      expect(status).toBe(413);
      expect(body.error).toMatch(/limit of 200 bytes/);
      expect(await traces()).toEqual(before);
    });

    it('refuses more examples than allowed with 400 naming the limit, and a full store with 413', async () => {
      const few = await start({ maxExamples: 30 });
      const many = await upload({ name: 'many' }, idxFiles, few);
      expect(many.status).toBe(400);
      expect(many.body.issues?.[0]?.message).toMatch(/at most 30/);
      const full = await start({ maxTotalBytes: 2000 });
      const over = await upload({ name: 'over' }, idxFiles, full);
      expect(over.status).toBe(413);
      expect(over.body.error).toMatch(/2000 bytes allowed/);
    });

    it('keeps nothing of an upload cut off halfway', async () => {
      const before = await traces();
      const { port } = new URL(address);
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const boundary = 'cut-off-boundary';
      socket.write(
        `POST /datasets HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 100000\r\n\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\ncut\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="trainImages"; filename="a"\r\n\r\n`,
      );
      socket.write(tiny.images.subarray(0, 300));
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await traces()).toEqual(before);
    });

    /** Sends `parts` as they are (names may repeat) and expects a 400 whose issues name `field`. */
    async function refusedForm(parts: FormPart[], field: string, message: RegExp) {
      const before = await traces();
      const response = await fetch(`${address}/datasets`, { method: 'POST', body: partsForm(parts) });
      const body = (await response.json()) as ErrorBody;
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(body.code).toBe('invalid_dataset');
      expect(body.issues).toContainEqual({ path: field, message: expect.stringMatching(message) as string });
      expect(await traces()).toEqual(before);
      return body;
    }
    const idxParts: FormPart[] = Object.entries(idxFiles).map(([name, value]) => ({ name, value, file: true }));
    const named = (name: string): FormPart => ({ name: 'name', value: name });

    it('refuses a file field sent twice with 400 naming it', async () => {
      await refusedForm(
        [named('twice'), ...idxParts, { name: 'trainImages', value: idxFiles.trainImages, file: true }],
        'trainImages',
        /sent twice/,
      );
    });

    it('refuses a text field sent twice with 400 naming it', async () => {
      await refusedForm([named('twice'), ...idxParts, named('again')], 'name', /sent twice/);
    });

    it('refuses a file under an unknown field name with 400 naming it', async () => {
      await refusedForm(
        [named('unknown-file'), ...idxParts, { name: 'pictures', value: 'x', file: true }],
        'pictures',
        /unknown file field; files go in trainImages/,
      );
    });

    it('refuses a text field sent as a file with 400 naming it', async () => {
      await refusedForm(
        [...idxParts, { name: 'name', value: 'as-a-file', file: true }],
        'name',
        /is a text field, sent as a file/,
      );
    });

    it('refuses more files or fields than a form has with 400 naming the count limit', async () => {
      const files = await refusedForm(
        [named('seven'), ...idxParts, ...idxParts.slice(0, 3)],
        '(form)',
        /more than 6 files: an upload has at most one of each file field/,
      );
      expect(files.error).not.toMatch(/1048576/);
      const fields = Array.from({ length: 21 }, (_, index) => ({ name: `field${index}`, value: 'x' }));
      await refusedForm([...fields, ...idxParts], '(form)', /more than 20 text fields/);
    });

    it('refuses field names that are properties of every object without touching Object.prototype', async () => {
      for (const hostile of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
        for (const file of [false, true]) {
          await refusedForm(
            [named(`hostile-${file}`), { name: hostile, value: '{"polluted":1}', file }, ...idxParts],
            '(form)',
            /property of every JavaScript object/,
          );
        }
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('refuses an example wider than DATASET_MAX_EXAMPLE_BYTES from the first CSV row', async () => {
      const narrow = await start({ maxExampleBytes: 1000 });
      const row = Array.from({ length: 252 }, (_, column) => column % 2).join(',');
      const response = await fetch(`${narrow}/datasets`, {
        method: 'POST',
        body: uploadForm({ name: 'too-wide' }, { train: `${row}\n${row}\n`, test: row }),
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).issues).toContainEqual({
        path: 'train',
        message: 'line 1: an example of 251 features is 1004 bytes; at most 1000 (DATASET_MAX_EXAMPLE_BYTES)',
      });
    });
  });

  describe('jobs on an uploaded dataset', () => {
    const layers = (units: number) => ({
      layers: [
        { type: 'dense', units: 8, activation: 'relu' },
        { type: 'dense', units },
      ],
    });
    const submit = async (spec: object) => {
      const response = await fetch(`${address}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(spec),
      });
      return { status: response.status, body: (await response.json()) as JobView & ErrorBody };
    };
    const base = { dataset: 'stripes', epochs: 1, learningRate: 0.1, batchSize: 8 };

    it('are checked against the dataset at submission, with its name and numbers', async () => {
      const outputs = await submit({ ...base, model: layers(10) });
      expect(outputs.status).toBe(400);
      expect(outputs.body.issues).toContainEqual({
        path: 'model.layers.1.units',
        message: 'the last dense layer must have 4 units, one per stripes class; got 10',
      });
      const samples = await submit({ ...base, trainSamples: 41, testSamples: 13, model: layers(4) });
      expect(samples.body.issues).toEqual([
        { path: 'trainSamples', message: 'must be at most 40, the size of the stripes training set' },
        { path: 'testSamples', message: 'must be at most 12, the size of the stripes test set' },
      ]);
      const unknown = await submit({ ...base, dataset: 'nothing-here', model: layers(4) });
      expect(unknown.body.issues?.[0]).toMatchObject({
        path: 'dataset',
        message: expect.stringMatching(/no dataset called "nothing-here"/) as string,
      });
      const accepted = await submit({ ...base, model: layers(4) });
      expect(accepted.status).toBe(201);
      expect(accepted.body).toMatchObject({
        dataset: 'stripes',
        architecture: '16-8-4',
        parameterCount: 16 * 8 + 8 + 8 * 4 + 4,
        progress: { totalSteps: 5 },
      });
    });

    it('keep their dataset from being deleted while queued, naming them; finished jobs do not', async () => {
      const queued = await submit({ ...base, model: layers(4) });
      const refused = await fetch(`${address}/datasets/stripes`, { method: 'DELETE' });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as ErrorBody).error).toContain(queued.body.id);
      await database.prisma.job.updateMany({ where: { dataset: 'stripes' }, data: { status: 'completed' } });

      const before = await traces();
      expect((await fetch(`${address}/datasets/stripes`, { method: 'DELETE' })).status).toBe(204);
      const after = await traces();
      expect(after).toMatchObject({ datasets: before.datasets - 1, artifacts: before.artifacts - 1 });
      expect(after.chunks).toBeLessThan(before.chunks);
      expect((await fetch(`${address}/datasets/stripes`)).status).toBe(404);
      // The finished job reads as before.
      const job = (await (await fetch(`${address}/jobs/${queued.body.id}`)).json()) as JobView;
      expect(job).toMatchObject({ dataset: 'stripes', architecture: '16-8-4', status: 'completed' });
      const runs = await fetch(`${address}/jobs?dataset=stripes`);
      expect(runs.status).toBe(200);
    });

    it('answers 403 for deleting a bundled dataset and 404 for an unknown one', async () => {
      const bundled = await fetch(`${address}/datasets/mnist`, { method: 'DELETE' });
      expect(bundled.status).toBe(403);
      expect(((await bundled.json()) as ErrorBody).code).toBe('dataset_bundled');
      expect((await fetch(`${address}/datasets/nope`, { method: 'DELETE' })).status).toBe(404);
      const mnist = (await (await fetch(`${address}/datasets/mnist`)).json()) as DatasetView;
      expect(mnist).toMatchObject({
        bundled: true,
        numClasses: 10,
        trainSize: 60_000,
        statistics: { mean: 0.1307, std: 0.3081 },
      });
    });
  });
});
