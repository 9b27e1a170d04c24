import type { StepLoss } from '../../domain/metrics.js';

// How a loss history is laid out in `step_chunks`: runs of consecutive steps of one epoch, one row
// per run of at most `maxChunkSteps` steps. Pure functions; the SQL lives in step-history.ts.

/** Most steps in a chunk (its CHECK constraint says the same): float32 chunks hold this many. */
export const maxChunkSteps = 480;
/** Most steps in a float64 chunk: the same bytes as a full float32 one, under the TOAST threshold. */
export const maxWideChunkSteps = 240;

/** A chunk as stored: steps `firstStep` .. `firstStep + losses.length - 1`, all of `epoch`. */
export interface StepChunk {
  firstStep: number;
  epoch: number;
  losses: number[];
  /** Stored as float32 (every loss is exactly a float32), else as float64. */
  narrow: boolean;
}

const isFloat32 = (value: number) => Object.is(Math.fround(value), value);

/** The steps of a chunk, in order. */
export function chunkRecords(chunk: Pick<StepChunk, 'firstStep' | 'epoch' | 'losses'>): StepLoss[] {
  return chunk.losses.map((loss, index) => ({ step: chunk.firstStep + index, epoch: chunk.epoch, loss }));
}

/** `steps` in step order, each step once, with the value given last (as writing them one by one would). */
export function latestPerStep(steps: readonly StepLoss[]): StepLoss[] {
  const byStep = new Map<number, StepLoss>();
  for (const step of steps) byStep.set(step.step, step);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** The steps of `stored` chunks with `written` steps laid over them, in step order. */
export function mergeSteps(stored: readonly StepChunk[], written: readonly StepLoss[]): StepLoss[] {
  return latestPerStep([...stored.flatMap(chunkRecords), ...written]);
}

/**
 * Cuts steps (in step order, each once) into chunks: a chunk ends where the steps stop being
 * consecutive, where the epoch changes, or when it is full. Greedy from the first step, so
 * appending to a history rewrites at most its last, unfilled chunk.
 */
export function chunkSteps(steps: readonly StepLoss[]): StepChunk[] {
  const chunks: StepChunk[] = [];
  let index = 0;
  while (index < steps.length) {
    const first = steps[index] as StepLoss;
    let end = index + 1;
    while (end < steps.length && end - index < maxChunkSteps) {
      const step = steps[end] as StepLoss;
      if (step.step !== first.step + (end - index) || step.epoch !== first.epoch) break;
      end += 1;
    }
    let losses = steps.slice(index, end).map((step) => step.loss);
    let narrow = losses.every(isFloat32);
    if (!narrow && losses.length > maxWideChunkSteps) {
      losses = losses.slice(0, maxWideChunkSteps);
      narrow = losses.every(isFloat32);
    }
    chunks.push({ firstStep: first.step, epoch: first.epoch, losses, narrow });
    index += losses.length;
  }
  return chunks;
}

/** Whether two chunks would be stored the same. */
export function sameChunk(a: StepChunk, b: StepChunk): boolean {
  return (
    a.firstStep === b.firstStep &&
    a.epoch === b.epoch &&
    a.narrow === b.narrow &&
    a.losses.length === b.losses.length &&
    a.losses.every((loss, index) => Object.is(loss, b.losses[index]))
  );
}
