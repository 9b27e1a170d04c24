import type { Logger } from '../../logger.js';
import type { DeliveriesRepository, OutboxEvent, QueuedAttempt } from '../../store/webhooks/deliveries-repository.js';

export interface RelayDeps {
  deliveries: Pick<DeliveriesRepository, 'relayEvents' | 'stale'>;
  /** The event's `data`: the job or sweep as the API shows it, or null when it no longer exists. */
  describe: (event: OutboxEvent) => Promise<unknown>;
  enqueue: (attempts: readonly QueuedAttempt[]) => Promise<void>;
  /** How long a new delivery is retried for. */
  retryForMs: number;
  /** A pending delivery this late has lost its queue message, and is queued again. */
  requeueAfterMs: number;
  batchSize?: number;
}

/**
 * One pass of the relay: outbox events become deliveries (committed first) and their first
 * attempts are queued; pending deliveries whose message was lost (a crash between commit and
 * queueing, a Redis flush) are queued again. Returns how many attempts it queued.
 */
export async function relayOnce(deps: RelayDeps): Promise<number> {
  const limit = deps.batchSize ?? 100;
  let queued = 0;
  for (;;) {
    const created = await deps.deliveries.relayEvents({ limit, retryForMs: deps.retryForMs, describe: deps.describe });
    await deps.enqueue(created);
    queued += created.length;
    if (created.length < limit) break;
  }
  const lost = await deps.deliveries.stale(deps.requeueAfterMs, limit);
  await deps.enqueue(lost);
  return queued + lost.length;
}

/** Runs the relay every `intervalMs` (one pass at a time); `stop` waits for the pass under way. */
export function startRelay(deps: RelayDeps, intervalMs: number, logger: Logger) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let first = true;
  const tick = () => {
    running = relayOnce(deps)
      .then(
        (queued) => {
          // Once: what piled up while no worker ran has been queued.
          if (first) logger.info({ queued, intervalMs }, 'webhook relay running');
          first = false;
        },
        (error: unknown) => logger.warn({ err: error }, 'webhook relay pass failed; trying again'),
      )
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
