import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasets } from '../../../src/domain/datasets.js';
import { parseJobSpec, type JobSpecInput } from '../../../src/domain/job-spec.js';
import { specParameterCount, totalSteps } from '../../../src/domain/model-shape.js';
import type { Service } from '../../../src/main/process.js';
import { startApi } from '../../../src/main/start-api.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger, testConfig } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';
import { smallSpec } from '../../helpers/specs.js';

// GET /jobs answers, byte for byte, over runs of every kind: the listing reads only what a run's
// summary shows, and this pins that the summary stayed what it was when it read whole rows.
describe('the answers of GET /jobs', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let jobs: JobsRepository;

  async function submit(overrides: Partial<JobSpecInput>) {
    const parsed = parseJobSpec(smallSpec(overrides), { maxParameters: 1e9 });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    const id = randomUUID();
    const mnist = datasets.mnist;
    const spec = parsed.spec;
    await jobs.create({
      id,
      spec,
      parameterCount: specParameterCount(spec, mnist),
      totalSteps: totalSteps(spec, mnist),
    });
    return id;
  }

  const epoch = (number: number, testAccuracy: number, validationAccuracy?: number) => ({
    epoch: number,
    testAccuracy,
    testLoss: 1 - testAccuracy,
    trainLoss: 0.5 / number,
    durationMs: 900 + number,
    samplesPerSecond: 2000 + number,
    ...(validationAccuracy === undefined ? {} : { validationAccuracy, validationLoss: 1 - validationAccuracy }),
  });

  beforeAll(async () => {
    database = await createTestDatabase('run_list_answers');
    jobs = createJobsRepository(database.prisma);
    api = await startApi(testConfig(database.url), silentLogger());
    await insertFinishedRun(jobs, { name: 'small', tags: ['baseline'], batchSize: 64 }, { accuracies: [0.8, 0.85] });
    await insertFinishedRun(
      jobs,
      {
        name: 'conv',
        tags: ['conv', 'wide'],
        optimizer: 'adam',
        learningRate: 0.003,
        epochs: 3,
        model: {
          layers: [
            { type: 'conv2d', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' },
            { type: 'maxPool2d', poolSize: 2 },
            { type: 'batchNormalization' },
            { type: 'avgPool2d', poolSize: [1, 2], strides: 1, padding: 'same' },
            { type: 'flatten' },
            { type: 'dropout', rate: 0.2 },
            { type: 'dense', units: 10 },
          ],
        },
      },
      { accuracies: [0.5, 0.7, 0.6], status: 'failed' },
    );
    const validated = await submit({ name: 'validated', tags: ['val'], validationFraction: 0.1, epochs: 4 });
    const owner = randomUUID();
    await jobs.claim(validated, 'cpu', 60_000, owner);
    for (const [index, [test, validation]] of [
      [0.7, 0.72],
      [0.8, 0.79],
      [0.82, 0.78],
    ].entries()) {
      await jobs.recordEpoch(validated, epoch(index + 1, test ?? 0, validation));
    }
    await jobs.recordStoppedEarly(validated, { epoch: 3, reason: 'validationAccuracy did not improve for 1 epoch' });
    await jobs.finish(validated, 'completed', undefined, owner);
    const running = await submit({ name: 'running', epochs: 5 });
    await jobs.claim(running, 'wasm', 60_000, randomUUID());
    await jobs.recordEpoch(running, epoch(1, 0.65));
    await submit({ tags: ['queued'] });
    const cancelled = await submit({ name: 'cancelled' });
    await jobs.requestCancel(cancelled);
    // Apart by a minute each, in order of insertion: the order by creation has no ties to break by id.
    await database.prisma.$executeRaw`
      UPDATE jobs SET created_at = timestamptz '2026-01-01T00:00:00Z' + ordered.position * interval '1 minute'
      FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS position FROM jobs) ordered
      WHERE jobs.id = ordered.id`;
  });
  afterAll(async () => {
    await api.close();
    await database.drop();
  });

  // Ids, times and cursors differ from run to run; each distinct one becomes a numbered placeholder.
  function normalised(body: string): string {
    const seen = new Map<string, string>();
    const placeholder = (kind: string) => (value: string) => {
      if (!seen.has(value)) seen.set(value, `<${kind} ${seen.size}>`);
      return seen.get(value) ?? value;
    };
    return body
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, placeholder('id'))
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, placeholder('time'))
      .replace(/"nextCursor":"[^"]+"/g, (cursor) => placeholder('cursor')(cursor))
      .replace(/"durationMs":\d+,"backend"/g, '"durationMs":<ms>,"backend"');
  }

  const paths = [
    '/jobs',
    '/jobs?limit=2',
    '/jobs?sort=bestAccuracy&order=desc&status=completed,failed',
    '/jobs?sort=finalAccuracy&order=asc&status=completed,failed,running',
    '/jobs?order=asc&limit=4',
    '/jobs?status=completed,failed',
    '/jobs?tag=wide',
    '/jobs?name=run',
  ];

  it('answers each listing as it always has', async () => {
    const answers: string[] = [];
    for (const path of paths) {
      const response = await fetch(`${api.address}${path}`);
      answers.push(
        `GET ${path} ${response.status} ${response.headers.get('content-type')}\n${normalised(await response.text())}`,
      );
    }
    await expect(answers.join('\n\n') + '\n').toMatchFileSnapshot('__snapshots__/run-list-answers.txt');
  });
});
