import type { Logger } from '../../logger.js';
import type { DeliveriesRepository, OutboxEvent, QueuedAttempt } from '../../store/webhooks/deliveries-repository.js';

export interface RelayDeps {
  deliveries: Pick<DeliveriesRepository, 'relayEvents' | 'stale' | 'prune'>;
  /** The event's `data`: the job or sweep as the API shows it, or null when it no longer exists. */
  describe: (event: OutboxEvent) => Promise<unknown>;
  enqueue: (attempts: readonly QueuedAttempt[]) => Promise<void>;
  /** How long a new delivery is retried for. */
  retryForMs: number;
  /** A pending delivery this late has lost its queue message, and is queued again. */
  requeueAfterMs: number;
  /** Events relayed this long ago are removed with their deliveries (WEBHOOK_HISTORY_DAYS). */
  keepHistoryMs: number;
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

const pruneEveryMs = 60_000;

/** Removes old events and their deliveries, a batch at a time so no statement holds many locks. */
async function pruneHistory(deps: RelayDeps): Promise<number> {
  let removed = 0;
  for (let batch = 0; batch < 100; batch += 1) {
    const count = await deps.deliveries.prune(deps.keepHistoryMs, 500);
    removed += count;
    if (count < 500) break;
  }
  return removed;
}

/**
 * Runs the relay every `intervalMs` (one pass at a time), and prunes old deliveries once a minute;
 * `stop` waits for the pass under way.
 */
export function startRelay(deps: RelayDeps, intervalMs: number, logger: Logger) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  let first = true;
  let prunedAt = 0;
  const pass = async () => {
    const queued = await relayOnce(deps);
    if (Date.now() - prunedAt >= pruneEveryMs) {
      prunedAt = Date.now();
      const removed = await pruneHistory(deps);
      if (removed > 0) logger.info({ removed }, 'old webhook events and deliveries removed');
    }
    return queued;
  };
  const tick = () => {
    running = pass()
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
