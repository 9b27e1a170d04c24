import type { StepRecord } from '../store/jobs-repository.js';
import type { StepWriter } from './step-writer.js';

export interface ResultWriterOptions {
  /** True once this attempt must write nothing more (its lease is lost). */
  abandoned(): boolean;
  /** Called on the first write that failed for good; training should stop. */
  onFailure(error: unknown): void;
}

/**
 * The write chain of one attempt: steps go to the step writer; an epoch's metrics and a checkpoint
 * are written after every step before them is flushed, in the order they came, one at a time.
 * After a failure nothing more is written, so the record keeps no holes.
 */
export function createResultWriter(writer: StepWriter, options: ResultWriterOptions) {
  let chain: Promise<void> = Promise.resolve();
  let failure: unknown;

  return {
    addSteps(steps: readonly StepRecord[]): void {
      if (!options.abandoned()) writer.add(steps);
    },

    /** Queues `write` behind the steps received so far (not those received later) and the writes queued before it. */
    afterSteps(write: () => Promise<void>): void {
      // Cut the steps here, synchronously: steps that arrive while earlier writes are pending go after `write`.
      const stepsBefore = options.abandoned() ? Promise.resolve() : writer.flush();
      chain = chain.then(async () => {
        if (failure !== undefined || options.abandoned()) return;
        try {
          await stepsBefore;
          // Its steps could not be stored: writing it would leave a hole before it.
          if (writer.failed) return;
          await write();
        } catch (error) {
          failure ??= error;
          options.onFailure(error);
        }
      });
    },

    /** Waits for the queued writes. */
    settled(): Promise<void> {
      return chain;
    },

    /** Writes what is left; resolves with the first failure, or undefined when everything landed. */
    async close(): Promise<unknown> {
      await chain;
      try {
        await writer.close();
      } catch (error) {
        return error;
      }
      return failure;
    },
  };
}

export type ResultWriter = ReturnType<typeof createResultWriter>;
