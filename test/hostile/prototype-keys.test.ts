import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { testConfig } from '../helpers/env.js';
import { freePort } from '../helpers/own-services.js';
import { spawnService, type ChildService } from '../helpers/processes.js';
import { smallSpec } from '../helpers/specs.js';

// The black-box probe that once took the server down: sweep parameter paths through a prototype,
// then every route that takes a name, a query or a path segment asked with `__proto__`,
// `constructor` and `prototype`. The API runs as its own process, started WITHOUT
// --disable-proto=delete, so what is tested is the code's own refusal, not the flag.

const hostilePaths = [
  '__proto__.polluted',
  'constructor.prototype.polluted',
  'model.__proto__.polluted',
  'model.layers[0].constructor.prototype.polluted',
  'prototype.polluted',
];

const names = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'];
const probes = names.flatMap((name) => [
  `/jobs/${name}`,
  `/jobs/${name}/history`,
  `/jobs?status=${name}`,
  `/jobs?sort=${name}`,
  `/jobs?order=${name}&dataset=${name}&tag=${name}`,
  `/jobs?${name}=1`,
  `/jobs?${name}[polluted]=1`,
  `/jobs?${name}.polluted=1`,
  `/compare?ids=${name}`,
  `/sweeps/${name}`,
  `/sweeps?status=${name}`,
  `/datasets/${name}`,
  `/datasets/${name}/examples/train/0.png`,
  `/datasets/mnist/examples/${name}/0.png`,
  `/runs/${name}`,
  `/${name}`,
  `/jobs/${name}/history.csv`,
  `/jobs/${name}/history.parquet`,
  `/jobs/${name}/epochs.csv`,
  `/jobs/${name}/checkpoints`,
  `/jobs.csv?${name}=1&sort=${name}`,
  `/webhooks/${name}`,
  `/webhooks/${name}/deliveries`,
  `/usage?owner=${name}`,
  `/owners/${name}/settings`,
  `/retention/preview?owner=${name}&limit=${name}`,
  `/retention/preview?${name}=1`,
  `/hooks/${name}`,
]);

describe('prototype names against a running API process', () => {
  let database: TestDatabase;
  let api: ChildService;
  let base: string;

  beforeAll(async () => {
    database = await createTestDatabase('prototype_keys');
    const port = await freePort();
    api = spawnService('api', testConfig(database.url, { PORT: String(port) }), {}, []);
    await api.waitFor(/api listening/);
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await api?.stop();
    await database?.drop();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('warns when started without --disable-proto=delete', () => {
    expect(api.output()).toMatch(/started without --disable-proto=delete/);
  });

  it('refuses sweep paths through a prototype with a 400 naming the parameter, and keeps serving everyone', async () => {
    for (const path of hostilePaths) {
      const response = await post('/sweeps', {
        name: 'probe',
        base: smallSpec(),
        method: 'grid',
        parameters: { [path]: { values: [1] } },
        objective: { metric: 'testAccuracy', goal: 'maximize' },
      });
      expect(response.status, path).toBe(400);
      const body = (await response.json()) as { issues?: { path: string; message: string }[] };
      expect(body.issues?.[0]?.path, path).toBe(`parameters.${path}`);
    }
    // The whole process would answer 500 to every JSON route, and soon exit, had anything been planted.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(api.child.exitCode).toBeNull();
    for (const path of ['/jobs', '/sweeps', '/datasets', '/health', '/openapi.json', '/metrics'])
      expect((await fetch(`${base}${path}`)).status, path).toBeLessThan(300);
    expect((await post('/jobs', smallSpec({ name: 'after the probe' }))).status).toBe(201);
  });

  it('answers every route asked with a prototype name with a 2xx or 4xx, never a 500', async () => {
    const failures: string[] = [];
    for (const probe of probes) {
      const response = await fetch(`${base}${probe}`);
      await response.arrayBuffer();
      if (response.status >= 500) failures.push(`${probe}: ${response.status}`);
    }
    for (const name of names) {
      const bodies = [
        { [name]: { polluted: true }, ...smallSpec() },
        smallSpec({ name, tags: [name] }),
        { ...smallSpec(), model: { layers: [{ type: 'dense', units: 10, [name]: 1 }] } },
      ];
      for (const body of bodies) {
        const response = await post('/jobs', body);
        if (response.status >= 500) failures.push(`POST /jobs ${JSON.stringify(body)}: ${response.status}`);
      }
    }
    // The routes that take a body about an existing run, and webhooks, with prototype names as keys and values.
    const job = (await (await post('/jobs', smallSpec({ name: 'probed' }))).json()) as { id: string };
    const send = (method: string, path: string, body: unknown) =>
      fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    for (const name of names) {
      const probesWithBodies: [string, string, unknown][] = [
        ['POST', `/jobs/${job.id}/fork`, { overrides: { [name]: { polluted: true } } }],
        ['POST', `/jobs/${job.id}/fork`, { fromEpoch: name, overrides: { name, tags: [name] } }],
        ['PATCH', `/jobs/${job.id}`, { [name]: { polluted: true } }],
        ['PATCH', `/jobs/${job.id}`, { notes: name, tags: [name, name] }],
        ['POST', '/webhooks', { url: `http://example.com/${name}`, events: [name], [name]: 1 }],
        ['PUT', `/owners/${name}/settings`, { retentionDays: 1, [name]: { polluted: true } }],
        ['PUT', '/owners/local/settings', { retentionDays: name, maxDurationSeconds: { [name]: 1 } }],
        ['POST', '/jobs', { ...smallSpec(), accelerator: name, retention: { [name]: 1, days: 1 } }],
        ['POST', '/jobs', { ...smallSpec(), retention: { days: name }, waitForAccelerator: { [name]: true } }],
      ];
      for (const [method, path, body] of probesWithBodies) {
        const response = await send(method, path, body);
        await response.arrayBuffer();
        // 503: webhooks are off without WEBHOOK_SECRET_KEY, and say so; anything else 5xx is a failure.
        if (response.status >= 500 && !(path === '/webhooks' && response.status === 503))
          failures.push(`${method} ${path} ${JSON.stringify(body)}: ${response.status}`);
      }
    }
    // Owner settings and the newer spec fields refuse every one of these with a 4xx naming the field.
    for (const name of names) {
      const refusals: [string, string, unknown][] = [
        ['PUT', `/owners/${name}/settings`, { retentionDays: 1 }],
        ['PUT', '/owners/local/settings', { retentionDays: 1, [name]: { polluted: true } }],
        ['PUT', '/owners/local/settings', { retentionDays: name }],
        ['POST', '/jobs', { ...smallSpec(), accelerator: name }],
        ['POST', '/jobs', { ...smallSpec(), retention: { days: 1, [name]: 1 } }],
      ];
      for (const [method, path, body] of refusals) {
        const response = await send(method, path, body);
        await response.arrayBuffer();
        if (response.status < 400 || response.status >= 500)
          failures.push(`${method} ${path} ${JSON.stringify(body)}: ${response.status}, not a 4xx`);
      }
    }
    expect(failures).toEqual([]);
    expect(api.child.exitCode).toBeNull();
    expect((await fetch(`${base}/jobs`)).status).toBe(200);
    expect(api.output()).not.toMatch(/"level":(50|60)/);
  });
});
