import type { JobEvent, PublishEvent } from '../events/job-events.js';

type StepsEvent = Extract<JobEvent, { type: 'steps' }>;
type EpochEvent = Extract<JobEvent, { type: 'epoch' }>;

/**
 * Publishes a job's step and epoch events in training order: an epoch's event after its last step
 * and before the next epoch's first, although steps are written on their own timer while the
 * epoch's metrics are still being written. Steps of an epoch later than one reported but not yet
 * announced wait until it is.
 */
export function createEventOrder(publish: PublishEvent, jobId: string) {
  // Epochs training has reported whose events are not published yet, in order.
  const pending: number[] = [];
  let held: StepsEvent['steps'] = [];

  const openEpoch = () => pending[0] ?? Number.POSITIVE_INFINITY;

  function release(): void {
    const limit = openEpoch();
    const ready = held.filter((step) => step.epoch <= limit);
    if (ready.length === 0) return;
    held = held.filter((step) => step.epoch > limit);
    publish({ type: 'steps', jobId, steps: ready });
  }

  return {
    /** Steps just written. */
    steps(steps: StepsEvent['steps']): void {
      held = held.concat(steps);
      release();
    },
    /** Training reported the end of `epoch`; its event follows once its metrics are written. */
    epochReported(epoch: number): void {
      pending.push(epoch);
    },
    /** The epoch's metrics are written: announce it (or, with no event, only stop waiting for it). */
    epochDone(epoch: number, event?: Omit<EpochEvent, 'type' | 'jobId'>): void {
      const index = pending.indexOf(epoch);
      if (index >= 0) pending.splice(index, 1);
      // Steps up to this epoch go first, then the epoch, then whatever it held back.
      const before = held.filter((step) => step.epoch <= epoch);
      held = held.filter((step) => step.epoch > epoch);
      if (before.length > 0) publish({ type: 'steps', jobId, steps: before });
      if (event) publish({ type: 'epoch', jobId, ...event });
      release();
    },
  };
}
