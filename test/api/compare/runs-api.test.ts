import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../../src/main/process.js';
import { startApi } from '../../../src/main/start-api.js';
import { createJobsRepository, type JobsRepository } from '../../../src/store/jobs-repository.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { silentLogger, testConfig } from '../../helpers/env.js';
import { insertFinishedRun } from '../../helpers/fixtures.js';

import type { ErrorBody } from '../../../src/api/http/common-schemas.js';
import { comparison as comparisonSchema, type Comparison } from '../../../src/api/compare/schemas.js';
import { historyBody, type HistoryBody } from '../../../src/api/history/schemas.js';
import type { RunList } from '../../../src/api/jobs/schemas.js';

describe('past runs and comparison', () => {
  let database: TestDatabase;
  let api: Service & { address: string };
  let jobs: JobsRepository;
  // An answer's status and body, the body typed by the API's own schema of it.
  const get = async <T = ErrorBody>(path: string) => {
    const response = await fetch(`${api.address}${path}`);
    return { status: response.status, body: (await response.json()) as T };
  };
  let small: Awaited<ReturnType<typeof insertFinishedRun>>;
  let wide: Awaited<ReturnType<typeof insertFinishedRun>>;
  let deep: Awaited<ReturnType<typeof insertFinishedRun>>;

  beforeAll(async () => {
    database = await createTestDatabase('runs_api');
    jobs = createJobsRepository(database.prisma);
    api = await startApi(testConfig(database.url), silentLogger());
    small = await insertFinishedRun(
      jobs,
      { name: 'small net', tags: ['baseline'], batchSize: 64 },
      { accuracies: [0.8, 0.85] },
    );
    wide = await insertFinishedRun(
      jobs,
      {
        name: 'wide net',
        tags: ['baseline', 'wide'],
        batchSize: 32,
        model: {
          layers: [
            { type: 'dense', units: 512, activation: 'relu' },
            { type: 'dense', units: 10 },
          ],
        },
      },
      { accuracies: [0.9, 0.88] },
    );
    deep = await insertFinishedRun(
      jobs,
      {
        name: 'deep net',
        dataset: 'mnist',
        learningRate: 0.01,
        model: {
          layers: [
            { type: 'dense', units: 512, activation: 'relu' },
            { type: 'dense', units: 1024, activation: 'relu' },
            { type: 'dense', units: 512, activation: 'relu' },
            { type: 'dense', units: 128, activation: 'relu' },
            { type: 'dense', units: 10 },
          ],
        },
      },
      { accuracies: [0.7, 0.95], status: 'failed' },
    );
  });
  afterAll(async () => {
    await api.close();
    await database.drop();
  });

  it('lists runs newest first with a summary of each', async () => {
    const { status, body } = await get<RunList>('/jobs');
    expect(status).toBe(200);
    expect(body.runs.map((run) => run.name)).toEqual(['deep net', 'wide net', 'small net']);
    expect(body.runs[0]).toMatchObject({
      architecture: '784-512-1024-512-128-10',
      finalTestAccuracy: 0.95,
      bestTestAccuracy: 0.95,
      status: 'failed',
    });
    expect(body.runs[1]).toMatchObject({
      architecture: '784-512-10',
      finalTestAccuracy: 0.88,
      bestTestAccuracy: 0.9,
      tags: ['baseline', 'wide'],
    });
    expect(body.runs[1]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(body.runs[1]?.backend).toBe('cpu');
    expect(body.nextCursor).toBeNull();
  });

  it('filters by status, name, tag and dataset', async () => {
    const names = async (query: string) => (await get<RunList>(`/jobs?${query}`)).body.runs.map((run) => run.name);
    expect(await names('status=completed')).toEqual(['wide net', 'small net']);
    expect(await names('status=failed,cancelled')).toEqual(['deep net']);
    expect(await names('name=WIDE')).toEqual(['wide net']);
    expect(await names('name=%25')).toEqual([]);
    expect(await names('tag=baseline')).toEqual(['wide net', 'small net']);
    expect(await names('tag=wide')).toEqual(['wide net']);
    expect(await names('dataset=mnist&tag=none')).toEqual([]);
  });

  it('sorts by final or best accuracy and pages with a cursor', async () => {
    const byFinal = (await get<RunList>('/jobs?sort=finalAccuracy')).body.runs.map((run) => run.name);
    expect(byFinal).toEqual(['deep net', 'wide net', 'small net']);
    const byBestAscending = (await get<RunList>('/jobs?sort=bestAccuracy&order=asc')).body.runs.map((run) => run.name);
    expect(byBestAscending).toEqual(['small net', 'wide net', 'deep net']);

    const seen: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: RunList } = await get<RunList>(
        `/jobs?sort=finalAccuracy&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.body.runs.length).toBeLessThanOrEqual(1);
      seen.push(...page.body.runs.map((run) => run.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['deep net', 'wide net', 'small net']);
  });

  it('rejects bad list queries with 400 naming the parameter', async () => {
    for (const [query, path] of [
      ['status=done', 'status.0'],
      ['sort=loss', 'sort'],
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['cursor=garbage', 'cursor'],
      ['colour=red', 'query'],
    ] as const) {
      const { status, body } = await get(`/jobs?${query}`);
      expect({ query, status }).toEqual({ query, status: 400 });
      expect(body.issues?.map((issue) => issue.path)).toContain(path);
    }
  });

  it('downsamples a history on request, keeping the first and last step', async () => {
    const full = (await get<HistoryBody>(`/jobs/${wide.id}/history`)).body;
    expect(full.count).toBe(wide.steps.length);
    // The body is streamed past the serializer: it must still be what the schema says.
    expect(historyBody.safeParse(full).error).toBeUndefined();
    const { body } = await get<HistoryBody>(`/jobs/${wide.id}/history?points=10`);
    expect(historyBody.safeParse(body).error).toBeUndefined();
    expect(body).toMatchObject({ count: 10, totalSteps: wide.steps.length, downsampling: 'lttb' });
    expect(body.steps[0]?.step).toBe(1);
    expect(body.steps.at(-1)?.step).toBe(wide.steps.length);
    expect((await get(`/jobs/${wide.id}/history?points=1`)).status).toBe(400);
  });

  it('compares runs: differing hyperparameters, layer diff, metrics and curves aligned by step and epoch', async () => {
    const { status, body } = await get<Comparison>(`/compare?ids=${small.id},${wide.id}&points=20`);
    expect(status).toBe(200);
    expect(comparisonSchema.safeParse(body).error).toBeUndefined();
    expect(body.differingHyperparameters).toEqual(['batchSize']);
    expect(body.sharedHyperparameters).toMatchObject({ epochs: 2, learningRate: 0.05, optimizer: 'sgd' });
    expect(body.runs.map((run) => run.hyperparameters)).toEqual([{ batchSize: 64 }, { batchSize: 32 }]);
    expect(body.runs.map((run) => run.parameterCount)).toEqual([
      784 * 64 + 64 + 64 * 10 + 10,
      784 * 512 + 512 + 512 * 10 + 10,
    ]);
    expect(body.runs[1]).toMatchObject({
      label: 'wide net',
      finalTestAccuracy: 0.88,
      bestTestAccuracy: 0.9,
      finalTestLoss: expect.closeTo(0.12, 6) as number,
      trainingMs: 2000,
      samplesPerSecond: 2000,
    });
    expect(body.architecture.layers).toEqual([
      { index: 0, same: false, byRun: ['dense 64 relu', 'dense 512 relu'] },
      { index: 1, same: true, byRun: ['dense 10 linear', 'dense 10 linear'] },
    ]);

    // 2000 samples: 32 steps per epoch at batch 64, 63 at batch 32. Both end at epoch 2.0 on the epoch axis.
    const [smallCurve, wideCurve] = body.curves.runs;
    expect(smallCurve?.points).toHaveLength(20);
    expect(smallCurve?.points.at(-1)).toMatchObject({ step: 64, epochFraction: 2 });
    expect(wideCurve?.points.at(-1)).toMatchObject({ step: 126, epochFraction: 2 });
    expect(smallCurve?.points[0]).toMatchObject({ step: 1, epochFraction: 1 / 32 });
    expect(wideCurve?.points[0]).toMatchObject({ step: 1, epochFraction: 1 / 63 });
  });

  it('rejects comparisons of fewer than 2 or more than 20 runs, bad ids and unknown ids', async () => {
    expect((await get(`/compare?ids=${small.id}`)).status).toBe(400);
    expect((await get(`/compare?ids=${Array(21).fill(small.id).join(',')}`)).status).toBe(400);
    expect((await get(`/compare?ids=${small.id},nope`)).status).toBe(400);
    const unknown = await get(`/compare?ids=${small.id},00000000-0000-4000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/00000000-0000-4000-8000-000000000000/);
  });

  it('refuses a comparison that names the same run twice, in any letter case, naming the repeated id', async () => {
    for (const ids of [`${small.id},${small.id}`, `${small.id},${wide.id},${small.id.toUpperCase()}`]) {
      const { status, body } = await get(`/compare?ids=${ids}`);
      expect({ ids, status }).toEqual({ ids, status: 400 });
      expect(body.code).toBe('invalid_query');
      expect(body.issues).toEqual([{ path: 'ids', message: expect.stringContaining(small.id.slice(0, 8)) as string }]);
    }
    expect((await get(`/compare.svg?ids=${wide.id},${wide.id}`)).status).toBe(400);
  });

  it('draws the overlaid loss curves as SVG with one series and one legend entry per run', async () => {
    const response = await fetch(`${api.address}/compare.svg?ids=${small.id},${wide.id},${deep.id}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await response.text();
    expect(svg.startsWith('<svg')).toBe(true);
    // Vega draws each series as its own line mark inside its own container.
    expect(svg.match(/aria-roledescription="line mark container"/g)).toHaveLength(3);
    expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(3);
    for (const name of ['small net', 'wide net', 'deep net']) expect(svg).toContain(`>${name}<`);
    expect(svg).toContain('>step<');
    expect(svg).toContain('training loss');
  });
});
