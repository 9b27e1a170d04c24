import type { TrainingOutcome } from './training-pool.js';

/** Why the runner asked a training to stop before it completed. */
export type StopReason = 'cancel' | 'shutdown' | 'timeout' | 'store' | 'lease-lost';

export type FinalStatus = 'completed' | 'failed' | 'cancelled';

/** What an attempt does once its training has ended. */
export type AttemptEnd =
  | { action: 'finish'; status: FinalStatus; error: string | null }
  | { action: 'hand-back' }
  /**
   * The training thread, or the thread lent to help it, died: the job goes back to the queue to go on
   * from its last checkpoint, the attempt counted as crashed (as when a worker dies), so that
   * `MAX_ATTEMPTS` such attempts fail it.
   */
  | { action: 'retry' }
  /** Another worker owns the job now: this attempt writes nothing more. */
  | { action: 'abandon' };

export interface EndedTraining {
  outcome: TrainingOutcome;
  stopReason: StopReason | undefined;
  /** The first write of the attempt's results that failed for good, if any. */
  writeFailure: unknown;
  maxTrainingMs: number;
  /** Set when the job's `maxDurationSeconds` (shorter than the server's limit) was the limit. */
  jobLimitSeconds?: number;
  /** Whose that limit was: the job's spec (the default) or its owner's default. */
  jobLimitFrom?: 'job' | 'owner';
}

/** Failure codes of a training whose thread died under it, rather than of the training itself. */
const threadDeathCodes: ReadonlySet<string> = new Set(['thread_crashed', 'helper_lost']);

const finish = (status: FinalStatus, error: string | null = null): AttemptEnd => ({ action: 'finish', status, error });

/**
 * The table from (training outcome, stop reason) to what the attempt asks for. The store has the
 * last word on the status: a cancel committed before the final write makes any `finish` `cancelled`.
 */
export function attemptEnd({
  outcome,
  stopReason,
  writeFailure,
  maxTrainingMs,
  jobLimitSeconds,
  jobLimitFrom = 'job',
}: EndedTraining): AttemptEnd {
  if (stopReason === 'lease-lost') return { action: 'abandon' };
  if (writeFailure !== undefined) {
    const message = writeFailure instanceof Error ? writeFailure.message : 'unknown error';
    return finish('failed', `could not store training results: ${message}`);
  }
  if (outcome.outcome === 'failed') {
    // A cancel or a deadline stands whatever ended the training; a thread's death alone is retried.
    const retried = stopReason === undefined || stopReason === 'shutdown';
    if (retried && threadDeathCodes.has(outcome.code)) return { action: 'retry' };
    return finish('failed', outcome.message);
  }
  if (outcome.outcome === 'completed') return finish('completed');
  switch (stopReason) {
    case 'shutdown':
      return { action: 'hand-back' };
    case 'timeout':
      if (jobLimitSeconds !== undefined) {
        return finish(
          'failed',
          `stopped after ${jobLimitFrom === 'owner' ? "its owner's default" : "the job's"} maxDurationSeconds of ${jobLimitSeconds.toLocaleString('en-US')} s (step ${outcome.steps}); its history, models and checkpoints are kept`,
        );
      }
      return finish(
        'failed',
        `stopped after the maximum training time of ${(maxTrainingMs / 1000).toLocaleString('en-US')} s (step ${outcome.steps})`,
      );
    default:
      // A cancel; `store` stops always come with a write failure, handled above.
      return finish('cancelled');
  }
}
