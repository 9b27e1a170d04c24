import { buildApp, type AppDeps } from '../../../src/api/http/app.js';
import type { EventHub } from '../../../src/api/streams/event-hub.js';
import { createJobsService } from '../../../src/api/jobs/jobs-service.js';
import type { JobsRepository } from '../../../src/store/jobs-repository.js';
import { silentLogger } from '../../helpers/env.js';
import { healthyChecks, idleQueue } from '../../helpers/stand-ins.js';

const unsubscribed = () => Promise.resolve(() => Promise.resolve());
export const quietHub: EventHub = {
  subscribeJob: unsubscribed,
  subscribeAll: unsubscribed,
  onReconnect: () => undefined,
};

/** The app on a jobs store that must not be reached, for routes that do not read jobs. */
export function appWithoutStore(deps: Partial<AppDeps> = {}) {
  const logger = silentLogger();
  return buildApp({
    logger,
    bodyLimit: 1024 * 1024,
    hub: quietHub,
    health: healthyChecks,
    jobs: createJobsService({
      jobs: {} as JobsRepository,
      ...idleQueue,
      maxParameters: 20_000_000,
      maxJobMemoryBytes: 2 ** 31,
      logger,
    }),
    ...deps,
  });
}
