import type { JobsRepository, StepRecord } from '../store/jobs-repository.js';

export interface StepWriterOptions {
  /** Longest a loss waits in memory before it is written. */
  flushMs: number;
  /** Steps that trigger a write at once. */
  flushCount: number;
}

/**
 * Buffers a job's step losses and writes them in batches, in order, one write at a time.
 * `close` writes what is left and reports the first write error, if any.
 */
export function createStepWriter(
  jobs: Pick<JobsRepository, 'recordSteps'>,
  jobId: string,
  options: StepWriterOptions,
  onWritten: (steps: StepRecord[]) => void = () => undefined,
  onFailure: (error: unknown) => void = () => undefined,
) {
  let buffer: StepRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let failure: unknown;

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (buffer.length > 0) {
      const batch = buffer;
      buffer = [];
      // Announced only once committed, so a subscriber that replays from Postgres misses nothing.
      // After a write has failed for good, later batches are not written: the history keeps no holes.
      writing = writing.then(() =>
        failure !== undefined
          ? undefined
          : jobs
              .recordSteps(jobId, batch)
              .then(() => onWritten(batch))
              .catch((error: unknown) => {
                failure ??= error;
                onFailure(error);
              }),
      );
    }
    return writing;
  };

  return {
    add(steps: readonly StepRecord[]): void {
      buffer.push(...steps);
      if (buffer.length >= options.flushCount) void flush();
      else timer ??= setTimeout(() => void flush(), options.flushMs);
    },
    /** Starts writing what is buffered now; resolves once it and every batch before it were tried. */
    flush,
    /** True once a write has failed for good. */
    get failed(): boolean {
      return failure !== undefined;
    },
    async close(): Promise<void> {
      await flush();
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows what recordSteps threw, unchanged
      if (failure !== undefined) throw failure;
    },
  };
}

export type StepWriter = ReturnType<typeof createStepWriter>;
