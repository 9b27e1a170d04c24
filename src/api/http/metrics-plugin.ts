import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { ApiMetrics } from '../../metrics/api-metrics.js';
import { metricsContentType } from '../../metrics/registry.js';

export interface MetricsPluginOptions {
  metrics: ApiMetrics;
  /** Serve GET /metrics on this app; false when it has a port of its own (METRICS_PORT). */
  route: boolean;
}

/** GET /metrics as Prometheus text, on any app (the API's, or one on METRICS_PORT of its own). */
export function metricsRoute(app: FastifyInstance, metrics: ApiMetrics): void {
  // Hidden from the OpenAPI document: it is for operators' scrapers, not API clients.
  // On the API's port it needs an admin key (when keys are required); METRICS_PORT keeps it off that port.
  app.get(
    '/metrics',
    { schema: { hide: true }, logLevel: 'warn', config: { access: 'admin' } },
    async (_request, reply) => reply.type(metricsContentType).send(await metrics.scrape()),
  );
}

/** Times every request by its route pattern (not its URL) and status code, and serves GET /metrics. */
const plugin: FastifyPluginCallback<MetricsPluginOptions> = (app, { metrics, route }, done) => {
  app.addHook('onResponse', (request, reply, hookDone) => {
    metrics.httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    hookDone();
  });
  if (route) metricsRoute(app, metrics);
  done();
};
// Like fastify-plugin: the hook applies to every route of the app, not only this plugin's.
Object.assign(plugin, { [Symbol.for('skip-override')]: true });

export const metricsPlugin = plugin;
