import type { Job, JobOutcomeFields } from '../../store/jobs-repository.js';

/**
 * The validation figures, best epoch and early stop of a job, why it was cancelled when a rule did
 * it, and its sweep, as job views, runs and /compare show them.
 */
export function validationSummaryOf(job: Pick<Job, JobOutcomeFields>) {
  return {
    finalValidationAccuracy: job.finalValidationAccuracy,
    bestValidationAccuracy: job.bestValidationAccuracy,
    bestEpoch: job.bestEpoch,
    stoppedEarly:
      job.stoppedEarlyEpoch !== null && job.stoppedEarlyReason !== null
        ? { epoch: job.stoppedEarlyEpoch, reason: job.stoppedEarlyReason }
        : null,
    cancelReason: job.cancelReason,
    sweep: job.sweepId !== null && job.sweepIndex !== null ? { id: job.sweepId, index: job.sweepIndex } : null,
  };
}
