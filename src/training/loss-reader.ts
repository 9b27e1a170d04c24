import * as tf from '@tensorflow/tfjs';
import type { StepLoss } from '../domain/metrics.js';
import { TrainingError } from './training-error.js';

export interface LossReadSettings {
  /** Most step losses held on the backend before they are read back at once. */
  interval: number;
  /** Longest a step loss waits on the backend before it is read back. */
  intervalMs: number;
  /** The job's learning rate, named in the error when the loss diverges. */
  learningRate: number;
}

/**
 * Holds step losses on the backend and reads them back in one transfer instead of one blocking
 * read per step; reports them in step order and sums the current epoch's. A loss that is not finite
 * fails training with a `TrainingError`, after reporting the finite steps before it.
 */
export class StepLossReader {
  /** Sum of the current epoch's step losses read so far, for its mean train loss. */
  epochLossSum = 0;
  /** Losses still on the backend, or already read (a number) when the step computed them on the host. */
  private pending: (tf.Scalar | number)[] = [];
  private firstPendingStep = 1;
  private lastRead = performance.now();

  constructor(
    private readonly hooks: { onSteps?(steps: StepLoss[]): void },
    private readonly settings: LossReadSettings,
  ) {}

  /** Continues a resumed run: the next loss queued is `step`'s, and the epoch's sum so far is `epochLossSum`. */
  resumeAt(step: number, epochLossSum: number): void {
    this.firstPendingStep = step;
    this.epochLossSum = epochLossSum;
  }

  /** Queues the next step's loss (taking ownership of a scalar) and reads the queue when it is full or old. */
  push(loss: tf.Scalar | number, epoch: number): void {
    this.pending.push(loss);
    if (this.pending.length >= this.settings.interval || performance.now() - this.lastRead >= this.settings.intervalMs)
      this.drain(epoch);
  }

  /** Reads every queued loss now, reports them as steps of `epoch` and adds them to the epoch's sum. */
  drain(epoch: number): void {
    this.lastRead = performance.now();
    if (this.pending.length === 0) return;
    const values = this.read();
    const steps: StepLoss[] = [];
    for (let index = 0; index < values.length; index++) {
      const loss = values[index] as number;
      const at = this.firstPendingStep + index;
      if (!Number.isFinite(loss)) {
        // The finite steps before it are part of the history the job keeps.
        if (steps.length > 0) this.hooks.onSteps?.(steps);
        throw new TrainingError(
          'diverged',
          `training diverged: the loss became ${loss} at step ${at} (epoch ${epoch}); try a lower learningRate than ${this.settings.learningRate}`,
        );
      }
      this.epochLossSum += loss;
      steps.push({ step: at, epoch, loss });
    }
    this.firstPendingStep += values.length;
    this.hooks.onSteps?.(steps);
  }

  /** The queued losses' values, in one read-back for those on the backend; empties the queue. */
  private read(): Float64Array {
    const scalars = this.pending.filter((loss): loss is tf.Scalar => typeof loss !== 'number');
    const read = scalars.length === 0 ? [] : tf.tidy(() => tf.stack(scalars).dataSync());
    let next = 0;
    const values = Float64Array.from(this.pending, (loss) => (typeof loss === 'number' ? loss : (read[next++] ?? NaN)));
    this.dispose();
    return values;
  }

  /** Frees the losses still queued. */
  dispose(): void {
    for (const loss of this.pending) if (typeof loss !== 'number') loss.dispose();
    this.pending = [];
  }
}
