import { runSteps, type StepLoss } from '../../domain/metrics.js';

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

// Postgres's type ids of real and double precision, as array_send names its elements.
const float4Oid = 700;
const float8Oid = 701;

/**
 * A chunk's losses from the binary form of its real[] or double precision[] (what array_send
 * gives): a header of dimensions, NULL flag, element type, then each dimension's length and lower
 * bound; then each element as its length and its big-endian bytes. Chunks have one dimension and no NULL.
 */
export function decodeLosses(bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getInt32(0) === 0) return new Float64Array(0);
  const type = view.getUint32(8);
  if (view.getInt32(0) !== 1 || view.getInt32(4) !== 0 || (type !== float4Oid && type !== float8Oid))
    throw new Error('a chunk of losses is not a one-dimensional real[] or double precision[] without NULLs');
  const losses = new Float64Array(view.getInt32(12));
  if (type === float4Oid)
    for (let index = 0; index < losses.length; index++) losses[index] = view.getFloat32(24 + index * 8);
  else for (let index = 0; index < losses.length; index++) losses[index] = view.getFloat64(24 + index * 12);
  return losses;
}

const isFloat32 = (value: number) => Object.is(Math.fround(value), value);

/** `steps` in step order, each step once, with the value given last (as writing them one by one would). */
export function latestPerStep(steps: readonly StepLoss[]): StepLoss[] {
  const byStep = new Map<number, StepLoss>();
  for (const step of steps) byStep.set(step.step, step);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** The steps of `stored` chunks with `written` steps laid over them, in step order. */
export function mergeSteps(stored: readonly StepChunk[], written: readonly StepLoss[]): StepLoss[] {
  return latestPerStep([...stored.flatMap(runSteps), ...written]);
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
