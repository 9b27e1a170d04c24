import { readFileSync } from 'node:fs';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Service } from '../../src/main/process.js';
import { startApi } from '../../src/main/start-api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { silentLogger, testConfig } from '../helpers/env.js';
import { smallSpec } from '../helpers/specs.js';
import { deployDirectory, type ScaledObject } from './render.js';
import { parseQueueQuery, prometheusTrigger } from './scaler.js';

// The workers' ScaledObject sums series of a metric the API exports: a real API must export that
// metric, with the states the query names, counting the jobs that wait for a worker.
const scaler = parse(readFileSync(`${deployDirectory}base/worker-scaler.yaml`, 'utf8')) as ScaledObject;
const query = parseQueueQuery(prometheusTrigger(scaler).query);

describe('the metric KEDA scales workers on', () => {
  let database: TestDatabase;
  let api: Service & { address: string };

  beforeAll(async () => {
    database = await createTestDatabase('scaling_metric');
    api = await startApi(testConfig(database.url), silentLogger());
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('is exported by the API, by the states the query selects, counting jobs no worker has taken', async () => {
    for (let index = 0; index < 2; index++) {
      const submitted = await fetch(`${api.address}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(smallSpec()),
      });
      expect(submitted.status).toBe(201);
    }
    const scrape = await fetch(`${api.address}/metrics`);
    expect(scrape.status).toBe(200);
    const family = parsePrometheusTextFormat(await scrape.text()).find(({ name }) => name === query.metric);
    const byState = new Map(family?.metrics.map((sample) => [sample.labels?.state, Number(sample.value)]));
    expect([...byState.keys()]).toEqual(expect.arrayContaining(query.states));
    // Two jobs and no worker: both wait, and the query counts both (so one worker is started for them).
    expect(byState.get('waiting')).toBe(2);
    expect(query.states.reduce((sum, state) => sum + (byState.get(state) ?? 0), 0)).toBe(2);
  });
});
