import type { HealthChecks } from '../../src/api/health/health.js';
import type { JobsServiceDeps } from '../../src/api/jobs/jobs-service.js';

const resolved = (): Promise<void> => Promise.resolve();

/** The jobs service's queue and event side, doing nothing: for tests of reading, storing and validating. */
export const idleQueue: Pick<JobsServiceDeps, 'enqueue' | 'dequeue' | 'announceCancel' | 'publish'> = {
  enqueue: resolved,
  dequeue: resolved,
  announceCancel: resolved,
  publish: () => undefined,
};

/** Health checks that always pass, with no workers. */
export const healthyChecks: HealthChecks = {
  database: resolved,
  redis: resolved,
  workers: () => Promise.resolve([]),
};
