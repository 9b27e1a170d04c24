import type { AshaRule, EarlyTermination, MedianRule, Objective } from './sweep-spec.js';

export type Goal = Objective['goal'];

/** Whether a run goes on, and if not, why (a reason a person reads on the cancelled run). */
export type TerminationDecision = { stop: false } | { stop: true; reason: string };

const carryOn: TerminationDecision = { stop: false };
const better = (goal: Goal, a: number, b: number) => (goal === 'maximize' ? a > b : a < b);
const show = (value: number) => Number(value.toPrecision(4)).toString();

/** ASHA's rungs for runs of `epochs` epochs: minEpochs × reductionFactor^k, below the last epoch. */
export function ashaRungs(rule: AshaRule, epochs: number): number[] {
  const rungs: number[] = [];
  for (let rung = rule.minEpochs; rung < epochs; rung *= rule.reductionFactor) rungs.push(rung);
  return rungs;
}

/**
 * ASHA at one rung: a run reaching it with objective `value` goes on only when it is in the top
 * 1/reductionFactor (rounded up) of the runs that reached the rung, itself included; `earlier` holds
 * the values of those that reached it before. The first run at a rung always goes on.
 */
export function ashaDecision(
  rule: AshaRule,
  goal: Goal,
  rung: number,
  value: number,
  earlier: readonly number[],
): TerminationDecision {
  const reached = earlier.length + 1;
  const kept = Math.ceil(reached / rule.reductionFactor);
  const rank = earlier.filter((other) => better(goal, other, value)).length;
  if (rank < kept && !Number.isNaN(value)) return carryOn;
  return {
    stop: true,
    reason:
      `asha: rung at epoch ${rung}, objective ${show(value)} not in top 1/${rule.reductionFactor} ` +
      `(rank ${rank + 1} of ${reached} runs)`,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/**
 * The median stopping rule at `epoch` (from minEpochs on): a run stops when its best objective so far
 * is worse than the median of the other runs' running averages up to that epoch. `curve` is the run's
 * objective per epoch from epoch 1; `others` are the curves of the other runs that reached `epoch`.
 */
export function medianDecision(
  rule: MedianRule,
  goal: Goal,
  epoch: number,
  curve: readonly number[],
  others: readonly (readonly number[])[],
): TerminationDecision {
  const peers = others.filter((other) => other.length >= epoch);
  if (epoch < rule.minEpochs || peers.length === 0 || curve.length < epoch) return carryOn;
  const own = curve.slice(0, epoch);
  const best = own.reduce((a, b) => (better(goal, b, a) ? b : a));
  const bar = median(peers.map((other) => mean(other.slice(0, epoch))));
  if (!better(goal, bar, best) && !Number.isNaN(best)) return carryOn;
  return {
    stop: true,
    reason: `median: at epoch ${epoch}, best objective ${show(best)} worse than the median ${show(bar)} of ${peers.length} other runs`,
  };
}

/**
 * Replays `curves` (objective per epoch, one per run) as if the runs advanced an epoch at a time, in
 * index order, under `rule`: the epoch each run was stopped after, or undefined for a run that ran to
 * the end. For tests and for estimating what early termination saves.
 */
export function replayTermination(
  rule: EarlyTermination,
  goal: Goal,
  curves: readonly (readonly number[])[],
  epochs: number,
): (number | undefined)[] {
  const stoppedAt: (number | undefined)[] = curves.map(() => undefined);
  const rungValues = new Map<number, number[]>();
  for (let epoch = 1; epoch <= epochs; epoch++) {
    for (const [index, curve] of curves.entries()) {
      if (stoppedAt[index] !== undefined || curve.length < epoch) continue;
      const value = curve[epoch - 1] as number;
      let decision: TerminationDecision = carryOn;
      if (rule.type === 'asha' && ashaRungs(rule, epochs).includes(epoch)) {
        const earlier = rungValues.get(epoch) ?? [];
        decision = ashaDecision(rule, goal, epoch, value, earlier);
        rungValues.set(epoch, [...earlier, value]);
      } else if (rule.type === 'median') {
        // What each other run has recorded so far: those before this one have done this epoch already.
        const others = curves
          .map((other, position) =>
            other.slice(0, Math.min(stoppedAt[position] ?? epochs, position < index ? epoch : epoch - 1)),
          )
          .filter((_, position) => position !== index);
        decision = medianDecision(rule, goal, epoch, curve, others);
      }
      if (decision.stop) stoppedAt[index] = epoch;
    }
  }
  return stoppedAt;
}
