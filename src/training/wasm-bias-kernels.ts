import type { TensorInfo } from '@tensorflow/tfjs';
import { heapKernels } from './wasm-heap-kernels.js';
import type { Kernel, KernelArgs } from './wasm-kernel-types.js';

// A layer's bias on the fast path: added to channels-last outputs and its gradient summed, each one
// SIMD pass (kernels/training-kernels.wat) where tfjs-backend-wasm broadcasts or transposes.

/**
 * Sum over every axis but the last (a bias gradient: [batch, ..., channels] to [channels]) as one
 * pass over rows; other reductions, or anything but float32, go to `orig`, whose transposing
 * reduction is several times slower for these.
 */
export function sumLeadingAxes(orig: Kernel, args: KernelArgs): TensorInfo {
  const { x } = args.inputs;
  if (x == null || x.dtype !== 'float32' || x.shape.length < 2) return orig(args);
  const rank = x.shape.length;
  const axes = [args.attrs.axis as number | number[]].flat().map((axis) => (axis < 0 ? axis + rank : axis));
  const leading = new Set(axes);
  if (leading.size !== rank - 1 || leading.has(rank - 1)) return orig(args);
  const channels = x.shape[rank - 1] ?? 1;
  const { backend } = args;
  const out = backend.makeOutput(
    args.attrs.keepDims === true ? [...Array<number>(rank - 1).fill(1), channels] : [channels],
    'float32',
  );
  // Room for the float64 sums.
  const scratch = backend.makeOutput([2 * channels], 'float32');
  try {
    const { kernels, at } = heapKernels(args);
    kernels.columnSums(at(x), at(out), x.shape.reduce((n, d) => n * d, 1) / channels, channels, at(scratch));
    return out;
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/**
 * Add of a bias to channels-last outputs ([..., channels] + [channels], as a layer's unfused bias) as
 * one pass; anything else goes to `orig`, whose broadcasting loop is several times slower for these.
 */
export function addChannels(orig: Kernel, args: KernelArgs): TensorInfo {
  const { a, b } = args.inputs;
  if (a == null || b == null || a.dtype !== 'float32' || b.dtype !== 'float32') return orig(args);
  const channels = a.shape.at(-1);
  const size = a.shape.reduce((n, d) => n * d, 1);
  if (a.shape.length < 2 || b.shape.length !== 1 || b.shape[0] !== channels || channels === undefined || size === 0)
    return orig(args);
  const out = args.backend.makeOutput([...a.shape], 'float32');
  const { kernels, at } = heapKernels(args);
  kernels.addChannels(at(a), at(b), at(out), size / channels, channels);
  return out;
}
