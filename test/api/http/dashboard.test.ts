import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/http/app.js';
import type { EventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import type { JobsRepository } from '../../../src/store/jobs-repository.js';
import { silentLogger } from '../../helpers/env.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';

// Only routes that never reach the store are called here.
const unusedStore = {
  listRuns: () => Promise.resolve({ runs: [], keys: [], more: false }),
} as unknown as JobsRepository;
const unsubscribed = () => Promise.resolve(() => Promise.resolve());
const quietHub: EventHub = { subscribeJob: unsubscribed, subscribeAll: unsubscribed, onReconnect: () => undefined };

function appServing(dashboardRoot: string): FastifyInstance {
  return buildApp({
    logger: silentLogger(),
    bodyLimit: 1024 * 1024,
    hub: quietHub,
    health: healthyChecks,
    dashboardRoot,
    jobs: createJobsService({
      jobs: unusedStore,
      ...idleQueue,
      maxParameters: 20_000_000,
      maxJobMemoryBytes: 2 * 1024 ** 3,
      logger: silentLogger(),
    }),
  });
}

const script = `console.log(${JSON.stringify('the dashboard '.repeat(500))});`;
// The build's brotli copy of an asset (see web/precompress.ts); different bytes, to tell it apart.
const precompressed = brotliCompressSync(Buffer.from('/* the build compressed this copy */'));
const runId = '5b0c6f1e-3a52-4c1e-9d8f-2f4b7a9e0c13';

describe('the dashboard, served by the API', () => {
  let root: string;
  let app: FastifyInstance;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'trainer-dashboard-'));
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>trainer</title><div id="app"></div>');
    writeFileSync(path.join(root, 'assets', 'index-AbC123.js'), script);
    writeFileSync(path.join(root, 'assets', 'run-XyZ789.js'), script);
    writeFileSync(path.join(root, 'assets', 'run-XyZ789.js.br'), precompressed);
    app = appServing(root);
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers every page URL with index.html, revalidated on every visit', async () => {
    const pages = ['/', '/runs', '/runs/new', `/runs/${runId}`, '/runs/compare?ids=a,b', '/runs/live', '/data'];
    for (const url of [...pages, '/runs/sweeps', `/runs/sweeps/${runId}`]) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toMatch(/^text\/html/);
      expect(response.headers['cache-control'], url).toBe('no-cache');
      expect(response.body, url).toContain('<div id="app">');
    }
  });

  it('serves hashed assets for a year, immutable, compressed as the browser asks', async () => {
    const url = '/assets/index-AbC123.js';
    const plain = await app.inject({ method: 'GET', url });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.body).toBe(script);

    const brotli = await app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'br' } });
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(brotli.rawPayload).toString()).toBe(script);
    expect(brotli.rawPayload.length).toBeLessThan(script.length / 4);

    const gzip = await app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(script);

    expect((await app.inject({ method: 'GET', url: '/assets/missing-123.js' })).statusCode).toBe(404);
  });

  it("sends the build's compressed copy of an asset as it is, typed and cached as the asset", async () => {
    const url = '/assets/run-XyZ789.js';
    const brotli = await app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip, br' } });
    expect(brotli.statusCode).toBe(200);
    expect(brotli.headers['content-encoding']).toBe('br');
    expect(brotli.headers['content-type']).toMatch(/javascript/);
    expect(brotli.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(brotli.rawPayload.equals(precompressed)).toBe(true);
    // Without a gzip copy, a gzip-only browser gets one compressed on the fly.
    const gzip = await app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(script);
  });

  it('leaves the JSON API where it was, uncompressed and answering JSON', async () => {
    const list = await app.inject({ method: 'GET', url: '/jobs', headers: { 'accept-encoding': 'gzip, br' } });
    expect(list.statusCode).toBe(200);
    expect(list.headers['content-encoding']).toBeUndefined();
    expect(list.json()).toEqual({ runs: [], nextCursor: null });

    const compare = await app.inject({ method: 'GET', url: '/compare?ids=x', headers: { accept: 'text/html' } });
    expect(compare.statusCode).toBe(400);
    expect(compare.headers['content-type']).toMatch(/application\/json/);

    const unknown = await app.inject({ method: 'GET', url: '/runs/not/a/page', headers: { accept: 'text/html' } });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'not_found' });
  });

  it('says how to build the dashboard when it is not built, and the API still works', async () => {
    const bare = appServing(path.join(root, 'nowhere'));
    await bare.ready();
    try {
      const page = await bare.inject({ method: 'GET', url: '/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/plain/);
      expect(page.body).toMatch(/npm run build/);
      expect((await bare.inject({ method: 'GET', url: '/jobs' })).statusCode).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
