import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logger.js';
import type { ExpiredRunsRepository } from '../../store/jobs/expired-runs.js';

export interface PurgeOptions {
  /** Runs deleted per statement. */
  batchSize: number;
  /** The pause between batches, so the API's queries get the database's time in between. */
  pauseMs: number;
  /** Batches one purge does at most; what is left is the next purge's (it runs every interval). */
  maxBatches?: number;
  /**
   * With RUN_RETENTION_DAYS set: runs that ended while no retention applied to them are given it
   * first, a batch at a time, so a server default set on a server with runs already reaches them.
   */
  stampServerDefault?: boolean;
}

/** What a purge removed. */
export interface PurgeResult {
  runs: number;
  bytes: number;
  batches: number;
}

export interface PurgeDeps {
  runs: Pick<ExpiredRunsRepository, 'removableRuns' | 'deleteExpired' | 'stampUnstamped'>;
  logger: Logger;
  /** Counts what each batch removed, as it is removed (the metrics). */
  onBatch?: (removed: { runs: number; bytes: number }) => void;
}

/**
 * Deletes every expired run the purge may remove (ended, not pinned, no fork still active), soonest
 * expired first, `batchSize` at a time with a pause between: each batch is a short transaction that
 * holds only its own runs' rows, so the API and training carry on meanwhile. One log line a batch.
 */
export async function purgeExpiredRuns(deps: PurgeDeps, options: PurgeOptions): Promise<PurgeResult> {
  const { runs, logger, onBatch } = deps;
  const result: PurgeResult = { runs: 0, bytes: 0, batches: 0 };
  const maxBatches = options.maxBatches ?? Number.POSITIVE_INFINITY;
  while (result.batches < maxBatches) {
    const started = performance.now();
    const stamped = options.stampServerDefault ? await runs.stampUnstamped(options.batchSize) : 0;
    const batch = await runs.removableRuns(options.batchSize);
    if (batch.length === 0 && stamped === 0) break;
    const deleted = new Set(await runs.deleteExpired(batch.map((run) => run.id)));
    const bytes = batch.filter((run) => deleted.has(run.id)).reduce((sum, run) => sum + run.bytes, 0);
    result.batches += 1;
    result.runs += deleted.size;
    result.bytes += bytes;
    onBatch?.({ runs: deleted.size, bytes });
    logger.info(
      {
        batch: result.batches,
        deletedRuns: deleted.size,
        deletedBytes: bytes,
        keptSinceListed: batch.length - deleted.size,
        ...(stamped > 0 ? { stampedWithServerDefault: stamped } : {}),
        ms: Math.round(performance.now() - started),
      },
      'retention: deleted a batch of expired runs',
    );
    // Fewer than a batch means none is left now; a run listed and kept since (pinned meanwhile) is not retried.
    if (batch.length < options.batchSize && stamped < options.batchSize) break;
    await sleep(options.pauseMs);
  }
  return result;
}
