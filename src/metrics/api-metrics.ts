import { Gauge, Histogram, type Registry } from 'prom-client';
import { readPublishedMetrics } from './published.js';
import { scrape, type MetricsSnapshot } from './registry.js';

/** What the API reads at scrape time, each cheap and cached briefly. */
export interface ScrapeSources {
  /** Jobs by status: one GROUP BY over the jobs table. */
  jobsByStatus: () => Promise<Record<string, number>>;
  /** The queue's message counts by state (BullMQ's getJobCounts). */
  queueCounts: () => Promise<Record<string, number>>;
  /** The same of the queue only GPU workers take, apart, so CPU workers are not scaled for GPU jobs. */
  gpuQueueCounts?: () => Promise<Record<string, number>>;
  /** The metrics workers published to Redis. */
  published: () => Promise<MetricsSnapshot[]>;
  /** Open WebSocket connections of this process. */
  webSocketClients: () => number;
}

/** Caches `read` for `ms`, sharing one read between concurrent callers. */
function cached<T>(read: () => Promise<T>, ms: number): () => Promise<T> {
  let value: Promise<T> | undefined;
  let at = 0;
  return () => {
    if (!value || Date.now() - at > ms) {
      at = Date.now();
      value = read();
      value.catch(() => (value = undefined));
    }
    return value;
  };
}

// Workers' published snapshots mark each live worker with a `trainer_worker_info{backend}` series.
function workersByBackend(published: readonly MetricsSnapshot[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const snapshot of published)
    for (const metric of snapshot)
      if (metric.name === 'trainer_worker_info')
        for (const value of metric.values) {
          const backend = String(value.labels.backend ?? 'unknown');
          counts.set(backend, (counts.get(backend) ?? 0) + 1);
        }
  return counts;
}

/** Messages in the training queues by state: the CPU queue's depth scales workers, the GPU queue's apart. */
function queueGauges(registry: Registry, sources: ScrapeSources, cacheMs: number): void {
  const queueCounts = cached(sources.queueCounts, cacheMs);
  new Gauge({
    name: 'trainer_queue_messages',
    help: 'Messages in the training queue by state (waiting is the queue depth)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      for (const [state, count] of Object.entries(await queueCounts())) this.set({ state }, count);
    },
  });
  const gpuQueueCounts = sources.gpuQueueCounts && cached(sources.gpuQueueCounts, cacheMs);
  if (gpuQueueCounts) {
    new Gauge({
      name: 'trainer_gpu_queue_messages',
      help: 'Messages in the GPU training queue by state (jobs that asked for "accelerator": "gpu")',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        for (const [state, count] of Object.entries(await gpuQueueCounts())) this.set({ state }, count);
      },
    });
  }
}

/** The API's metrics on `registry`, and the scrape that adds the workers' to them. */
export function createApiMetrics(registry: Registry, sources: ScrapeSources, cacheMs = 2000) {
  const jobsByStatus = cached(sources.jobsByStatus, cacheMs);
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const eventLag = new Histogram({
    name: 'trainer_event_lag_seconds',
    help: "Time from a batch of steps' commit in a worker to its delivery to this API's WebSocket clients",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'trainer_websocket_clients',
    help: 'Open WebSocket connections',
    registers: [registry],
    collect() {
      this.set(sources.webSocketClients());
    },
  });
  new Gauge({
    name: 'trainer_jobs',
    help: 'Jobs in Postgres by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      for (const [status, count] of Object.entries(await jobsByStatus())) this.set({ status }, count);
    },
  });
  queueGauges(registry, sources, cacheMs);
  const workers = new Gauge({
    name: 'trainer_workers',
    help: 'Live workers by training backend (from the metrics they publish)',
    labelNames: ['backend'],
    registers: [registry],
  });
  return {
    httpDuration,
    eventLag,
    /** Everything, as Prometheus text: this process's metrics and every live worker's. */
    async scrape(): Promise<string> {
      const published = await sources.published();
      workers.reset();
      for (const [backend, count] of workersByBackend(published)) workers.set({ backend }, count);
      return scrape(registry, published);
    },
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

export { readPublishedMetrics };
