import type { Job } from '../store/jobs-repository.js';

/** The validation figures, best epoch and early stop of a job, as job views, runs and /compare show them. */
export function validationSummaryOf(job: Job) {
  return {
    finalValidationAccuracy: job.finalValidationAccuracy,
    bestValidationAccuracy: job.bestValidationAccuracy,
    bestEpoch: job.bestEpoch,
    stoppedEarly:
      job.stoppedEarlyEpoch !== null && job.stoppedEarlyReason !== null
        ? { epoch: job.stoppedEarlyEpoch, reason: job.stoppedEarlyReason }
        : null,
  };
}
