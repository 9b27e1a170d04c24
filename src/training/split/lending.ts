import type { LayerSpec } from '../../domain/job-spec.js';
import type { SplitShape } from './helper-link.js';

/**
 * Below this many multiply-adds per step, or this batch, a split step does not pay for its exchanges
 * (two waits a layer, the weights copied to the helper every step). Measured with `npm run bench:train
 * -- --only=threads` on a 2-core machine: 784-256-10 at batch 64 (39M) gained 1.2-1.4x, 784-128-10
 * (20M) from 0.7x to 1.3x, 784-512-512-10 at batch 16 (32M, 8 columns a side) 0.7-1.0x; the
 * exercise's networks at batch 64 (128M, 291M) 1.4-1.7x. Past the threshold the job still splits a
 * step only while that is faster (split-choice.ts).
 */
export const MIN_SPLIT_MULTIPLY_ADDS = 32_000_000;
export const MIN_SPLIT_BATCH = 32;

/** The shape a split step of these layers takes, or undefined unless they are all dense ReLU or linear ones. */
export function splitShapeOf(layers: readonly LayerSpec[], features: number, maxBatch: number): SplitShape | undefined {
  const dense: { units: number; relu: boolean }[] = [];
  for (const layer of layers) {
    if (layer.type !== 'dense' || (layer.activation !== 'relu' && layer.activation !== 'linear')) return undefined;
    dense.push({ units: layer.units, relu: layer.activation === 'relu' });
  }
  return dense.length === 0 ? undefined : { features, layers: dense, maxBatch };
}

/** Multiply-adds of a step of `shape` at its full batch: forward, input and weight gradients. */
export function stepMultiplyAdds({ features, layers, maxBatch }: SplitShape): number {
  let fanIn = features;
  let total = 0;
  for (const { units } of layers) {
    total += 3 * fanIn * units * maxBatch;
    fanIn = units;
  }
  return total;
}

/** Whether a job of `shape` is worth lending an idle thread to. */
export function worthLending(shape: SplitShape): boolean {
  return shape.maxBatch >= MIN_SPLIT_BATCH && stepMultiplyAdds(shape) >= MIN_SPLIT_MULTIPLY_ADDS;
}
