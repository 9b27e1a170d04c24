/** The loss of one training step: what the history of a job is made of. */
export interface StepLoss {
  /** 1-based across the whole job. */
  step: number;
  /** 1-based. */
  epoch: number;
  loss: number;
}

/** Consecutive steps of one epoch, `firstStep` onwards, a loss each: a history read in bulk, without an object per step. */
export interface StepRun {
  firstStep: number;
  epoch: number;
  losses: Float64Array;
}

/** The steps of a run (or of anything laid out like one), in order, an object each. */
export function runSteps(run: { firstStep: number; epoch: number; losses: ArrayLike<number> }): StepLoss[] {
  return Array.from(run.losses, (loss, index) => ({ step: run.firstStep + index, epoch: run.epoch, loss }));
}

/** What is measured at the end of each epoch. */
export interface EpochMetrics {
  epoch: number;
  /** Fraction of test examples classified correctly, 0..1. */
  testAccuracy: number;
  testLoss: number;
  /** Mean of the epoch's step losses. */
  trainLoss: number;
  /** Wall time of the epoch: training plus the test pass. */
  durationMs: number;
  /** Training examples per second, test pass excluded. */
  samplesPerSecond: number;
  /** Fraction of validation examples classified correctly, 0..1; only with a validation split. */
  validationAccuracy?: number;
  validationLoss?: number;
}

/** Why a job ended before its last epoch, by its early-stopping rule. */
export interface StoppedEarly {
  /** The last epoch trained. */
  epoch: number;
  reason: string;
}
