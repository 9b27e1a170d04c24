import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';

// Prometheus metrics of every process. The API serves them at GET /metrics (or on METRICS_PORT);
// workers, which serve no HTTP, publish theirs to Redis (worker-publisher.ts) and the API's scrape
// merges them in, each series labelled with the worker it came from.

/** The metrics of one process as prom-client exports them, for publishing and merging. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** A registry with Node's process metrics, every series labelled `process` (and `worker` in workers). */
export function createProcessRegistry(labels: { process: 'api' | 'worker'; worker?: string }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * One scrape: this process's metrics and the snapshots workers published, as Prometheus text.
 * Series with the same name and labels are summed (a worker's are labelled with its id, so they are not).
 */
export async function scrape(own: Registry, published: readonly MetricsSnapshot[]): Promise<string> {
  const snapshots = [await own.getMetricsAsJSON(), ...published] as MetricsSnapshot[];
  return AggregatorRegistry.aggregate(snapshots).metrics();
}

export const metricsContentType = Registry.PROMETHEUS_CONTENT_TYPE;
