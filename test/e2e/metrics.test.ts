import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smallSpec } from '../helpers/specs.js';
import { startStack, type Stack } from '../helpers/stack.js';

/**
 * One scrape of GET /metrics, parsed by a Prometheus text-format parser, by family name. The
 * parser folds all of a histogram's labelled series into one unlabelled sample, so a histogram's
 * HELP and TYPE lines are left out: each of its `_count` series then stays a sample with labels.
 */
async function scrape(address: string): Promise<Map<string, PrometheusFamily>> {
  const response = await fetch(`${address}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const histograms = new Set([...text.matchAll(/^# TYPE (\S+) histogram$/gm)].map((match) => match[1]));
  const kept = text.split('\n').filter((line) => !(line.startsWith('# ') && histograms.has(line.split(' ')[2])));
  const families = new Map<string, PrometheusFamily>();
  for (const family of parsePrometheusTextFormat(kept.join('\n'))) {
    const seen = families.get(family.name);
    if (seen) seen.metrics.push(...family.metrics);
    else families.set(family.name, family);
  }
  return families;
}

/** The sum of a family's samples whose labels include `labels` (for a histogram, name its `_count`). */
function total(families: Map<string, PrometheusFamily>, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  if (!family) return 0;
  return family.metrics
    .filter((sample) => Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value))
    .reduce((sum, sample) => sum + Number(sample.value ?? 0), 0);
}

describe('GET /metrics with a real worker', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('metrics', { METRICS_PUBLISH_MS: '200', STEP_FLUSH_MS: '50' });
  }, 60_000);
  afterAll(() => stack.stop());

  it('covers the API and the worker in one scrape, and its counters move while a job trains', async () => {
    const { address } = stack.api;
    // The worker publishes its metrics every 200 ms from when it is ready; the first may still be on its way.
    let before = await scrape(address);
    for (const deadline = Date.now() + 10_000; total(before, 'trainer_workers') === 0 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      before = await scrape(address);
    }
    expect(total(before, 'trainer_workers')).toBe(1);
    expect(
      before
        .get('process_cpu_user_seconds_total')
        ?.metrics.map((sample) => sample.labels?.process)
        .sort(),
    ).toEqual(['api', 'worker']);
    const stepsBefore = total(before, 'trainer_training_steps_total');

    const submitted = await fetch(`${address}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(smallSpec({ epochs: 3 })),
    });
    expect(submitted.status).toBe(201);
    const { id } = (await submitted.json()) as { id: string };
    // A client following the job live, so steps are delivered (and their lag measured) as they commit.
    const follower = new WebSocket(`${address.replace('http', 'ws')}/jobs/${id}/events`);
    const followed = new Promise((resolve) => follower.on('close', resolve));

    // While it trains: steps, examples and step writes go up, and it counts as running.
    let during = before;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      during = await scrape(address);
      // Jobs by status are read from Postgres at most every 2 s (cached), so wait for both to move.
      const counted =
        total(during, 'trainer_jobs', { status: 'running' }) + total(during, 'trainer_jobs', { status: 'completed' });
      if (total(during, 'trainer_training_steps_total') > stepsBefore && counted === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const backend = during.get('trainer_worker_info')?.metrics[0]?.labels?.backend as string;
    expect(total(during, 'trainer_training_steps_total', { backend })).toBeGreaterThan(stepsBefore);
    expect(total(during, 'trainer_training_samples_total', { backend })).toBeGreaterThan(0);
    expect(total(during, 'trainer_step_write_seconds_count')).toBeGreaterThan(0);
    expect(total(during, 'trainer_queue_wait_seconds_count')).toBe(1);
    expect(
      total(during, 'trainer_jobs', { status: 'running' }) + total(during, 'trainer_jobs', { status: 'completed' }),
    ).toBe(1);

    for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
      const job = (await (await fetch(`${address}/jobs/${id}`)).json()) as { status: string };
      if (job.status === 'completed') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await followed;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const after = await scrape(address);
    // Every step of the job was counted once: 3 epochs of ceil(2000 / 64) steps.
    expect(total(after, 'trainer_training_steps_total') - stepsBefore).toBe(3 * 32);
    expect(total(after, 'trainer_jobs', { status: 'completed' })).toBe(1);
    expect(total(after, 'trainer_step_write_failures_total')).toBe(0);
    // Requests are timed by route pattern, not by URL.
    expect(
      total(after, 'http_request_duration_seconds_count', { route: '/jobs/:id', status_code: '200' }),
    ).toBeGreaterThan(0);
    expect(
      total(after, 'http_request_duration_seconds_count', { route: '/jobs', method: 'POST', status_code: '201' }),
    ).toBe(1);
    expect([...after.keys()].some((name) => name.includes(id))).toBe(false);
    expect(after.has('trainer_queue_messages')).toBe(true);
    expect(total(after, 'trainer_event_lag_seconds_count')).toBeGreaterThan(0);
    expect(total(after, 'trainer_websocket_clients')).toBe(0);
  }, 180_000);
});
