import type { EpochMetricName, JobSpec } from './job-spec.js';
import type { EpochMetrics, StoppedEarly } from './metrics.js';

export type EarlyStoppingRule = NonNullable<JobSpec['earlyStopping']>;

/** The value of `metric` in one epoch's metrics, or undefined when that epoch did not record it. */
export function metricValue(metrics: EpochMetrics, metric: EpochMetricName): number | undefined {
  return metrics[metric];
}

/**
 * Whether training should stop after the last of `epochs` (in order, from epoch 1): it stops when
 * the watched metric has not improved on its best by more than `minDelta` for `patience` epochs in
 * a row. The first epoch always sets the best. Pure, so a resumed job decides as an unbroken one.
 */
export function earlyStoppingDecision(
  rule: EarlyStoppingRule,
  epochs: readonly EpochMetrics[],
): StoppedEarly | undefined {
  let best: number | undefined;
  let bestEpoch = 0;
  for (const metrics of epochs) {
    const value = metricValue(metrics, rule.metric);
    if (value === undefined || Number.isNaN(value)) continue;
    const improved =
      best === undefined || (rule.mode === 'min' ? value < best - rule.minDelta : value > best + rule.minDelta);
    if (improved) {
      best = value;
      bestEpoch = metrics.epoch;
    }
  }
  const last = epochs.at(-1);
  if (!last || best === undefined || last.epoch - bestEpoch < rule.patience) return undefined;
  const delta = rule.minDelta > 0 ? ` by more than ${rule.minDelta}` : '';
  return {
    epoch: last.epoch,
    reason:
      `early stopping: ${rule.metric} did not ${rule.mode === 'min' ? 'fall' : 'rise'}${delta} for ` +
      `${last.epoch - bestEpoch} epochs (best ${best.toPrecision(4)} at epoch ${bestEpoch})`,
  };
}

/**
 * The epoch a job's best model comes from: by validation accuracy when it has a validation split, else by
 * test accuracy; the latest of equal epochs.
 */
export function bestEpochOf(epochs: readonly EpochMetrics[]): EpochMetrics | undefined {
  const validated = epochs.some((metrics) => metrics.validationAccuracy !== undefined);
  let best: EpochMetrics | undefined;
  for (const metrics of epochs) {
    const score = validated ? metrics.validationAccuracy : metrics.testAccuracy;
    if (score === undefined) continue;
    const bestScore = best && (validated ? best.validationAccuracy : best.testAccuracy);
    if (bestScore === undefined || score >= bestScore) best = metrics;
  }
  return best;
}
