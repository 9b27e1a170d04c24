import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { Kernel, KernelArgs } from './wasm-kernel-types.js';

/**
 * Convolution gradients for the wasm backend as matrix products on XNNPACK: tfjs-backend-wasm 4.22
 * has no Conv2DBackpropFilter at all, and its Conv2DBackpropInput is a scalar loop. Both unfold
 * (im2col) or fold back (col2im) the convolution's windows in JavaScript, straight on the wasm heap,
 * and leave the multiply-adds to the BatchMatMul kernel registered at the time of the call (the fast
 * path's, which reaches XNNPACK for transposed operands too).
 */

type Quad = [number, number, number, number];

/** The geometry both gradients need, NHWC, from tfjs's own shape arithmetic. */
interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

function geometry(tf: typeof tfjs, inShape: Quad, filterShape: Quad, args: KernelArgs): ConvGeometry {
  const { strides, pad, dimRoundingMode } = args.attrs;
  const info = tf.backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    strides as number | [number, number],
    1,
    pad as 'valid' | 'same' | number,
    dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** Columns of the unfolded matrix: one per filter tap and input channel, in the filter's own order. */
const windowLength = (g: ConvGeometry): number => g.filterHeight * g.filterWidth * g.inChannels;
/** Rows of the unfolded matrix: one per output position of every example. */
const positions = (g: ConvGeometry): number => g.batch * g.outHeight * g.outWidth;

/**
 * Walks every (output position, filter row) pair, handing `visit` the offset of the unfolded row's
 * segment for that filter row, the input offset of its first tap (which may lie before the input
 * when the window starts in the padding) and the taps inside the input, `first` .. `last` exclusive
 * (empty for a row wholly in the padding).
 */
function forEachWindowRow(
  g: ConvGeometry,
  visit: (colsOffset: number, inOffset: number, first: number, last: number) => void,
): void {
  const cols = windowLength(g);
  const rowTaps = g.filterWidth * g.inChannels;
  let row = 0;
  for (let b = 0; b < g.batch; b++) {
    const batchOffset = b * g.inHeight * g.inWidth * g.inChannels;
    for (let oy = 0; oy < g.outHeight; oy++) {
      const top = oy * g.strideHeight - g.padTop;
      for (let ox = 0; ox < g.outWidth; ox++, row++) {
        const left = ox * g.strideWidth - g.padLeft;
        const first = Math.max(0, -left);
        const last = Math.min(g.filterWidth, g.inWidth - left);
        for (let ky = 0; ky < g.filterHeight; ky++) {
          const iy = top + ky;
          const colsOffset = row * cols + ky * rowTaps;
          const inside = iy >= 0 && iy < g.inHeight && first < last;
          visit(
            colsOffset,
            batchOffset + (iy * g.inWidth + left) * g.inChannels,
            inside ? first : 0,
            inside ? last : 0,
          );
        }
      }
    }
  }
}

/** im2col: each output position's window of `x` as one row, zeros where it overlaps the padding. */
function unfold(g: ConvGeometry, x: Float32Array, cols: Float32Array): void {
  const channels = g.inChannels;
  const rowTaps = g.filterWidth * channels;
  forEachWindowRow(g, (colsOffset, inOffset, first, last) => {
    if (first > 0) cols.fill(0, colsOffset, colsOffset + first * channels);
    const start = first * channels;
    const end = last * channels;
    if (end - start >= 16) {
      cols.set(x.subarray(inOffset + start, inOffset + end), colsOffset + start);
    } else {
      for (let k = start; k < end; k++) cols[colsOffset + k] = x[inOffset + k] as number;
    }
    if (end < rowTaps) cols.fill(0, colsOffset + end, colsOffset + rowTaps);
  });
}

/** col2im: adds each row of `cols` back onto the input positions its window covers (`dx` starts at 0). */
function foldBack(g: ConvGeometry, cols: Float32Array, dx: Float32Array): void {
  const channels = g.inChannels;
  forEachWindowRow(g, (colsOffset, inOffset, first, last) => {
    const end = last * channels;
    for (let k = first * channels; k < end; k++)
      dx[inOffset + k] = (dx[inOffset + k] as number) + (cols[colsOffset + k] as number);
  });
}

const view = (t: TensorInfo, shape: number[]): TensorInfo => ({ dataId: t.dataId, shape, dtype: t.dtype });

function matMul(
  tf: typeof tfjs,
  args: KernelArgs,
  a: TensorInfo,
  b: TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
) {
  const kernel = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc as unknown as Kernel;
  return kernel({ inputs: { a, b }, backend: args.backend, attrs: { transposeA, transposeB } });
}

function channelsLast(args: KernelArgs): boolean {
  return args.attrs.dataFormat === undefined || args.attrs.dataFormat === 'NHWC';
}

/** dW = im2col(x)^T dy: [kh*kw*cin, cout], as the filter is laid out. */
export function conv2dBackpropFilter(tf: typeof tfjs, args: KernelArgs): TensorInfo {
  const { x, dy } = args.inputs;
  if (x == null || dy == null || !channelsLast(args)) throw new Error('Conv2DBackpropFilter: NHWC float32 only');
  const filterShape = args.attrs.filterShape as Quad;
  const g = geometry(tf, x.shape as Quad, filterShape, args);
  const { backend } = args;
  const cols = backend.makeOutput([1, positions(g), windowLength(g)], 'float32');
  try {
    unfold(g, backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(cols));
    const dw = matMul(tf, args, cols, view(dy, [1, positions(g), g.outChannels]), true, false);
    dw.shape = [...filterShape];
    return dw;
  } finally {
    backend.disposeData(cols.dataId);
  }
}

/** dx = col2im(dy W^T): each output position's gradient spread back over its window. */
export function conv2dBackpropInput(tf: typeof tfjs, args: KernelArgs): TensorInfo {
  const { dy, filter } = args.inputs;
  if (dy == null || filter == null || !channelsLast(args)) throw new Error('Conv2DBackpropInput: NHWC float32 only');
  const inputShape = args.attrs.inputShape as Quad;
  const g = geometry(tf, inputShape, filter.shape as Quad, args);
  const { backend } = args;
  const weights = view(filter, [1, windowLength(g), g.outChannels]);
  const cols = matMul(tf, args, view(dy, [1, positions(g), g.outChannels]), weights, false, true);
  try {
    const dx = backend.makeOutput([...inputShape], 'float32');
    const dxValues = backend.typedArrayFromHeap(dx);
    dxValues.fill(0);
    foldBack(g, backend.typedArrayFromHeap(cols), dxValues);
    return dx;
  } finally {
    backend.disposeData(cols.dataId);
  }
}

/**
 * MaxPoolGrad as the cpu backend computes it (each output's gradient goes to the first largest input
 * of its window, in row-major window order), a channel vector at a time; the wasm kernel's loop is
 * about ten times slower on training-sized pools.
 */
export function maxPoolGrad(tf: typeof tfjs, args: KernelArgs): TensorInfo {
  const { dy, input } = args.inputs;
  if (dy == null || input == null) throw new Error('MaxPoolGrad: dy and input are required');
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as Quad,
    filterSize as number | [number, number],
    strides as number | [number, number],
    1,
    pad as 'valid' | 'same' | number,
    dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
  );
  const { backend } = args;
  const dx = backend.makeOutput([...input.shape], 'float32');
  const [x, gradient, out] = [
    backend.typedArrayFromHeap(input),
    backend.typedArrayFromHeap(dy),
    backend.typedArrayFromHeap(dx),
  ];
  out.fill(0);
  const { inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;
  const best = new Float32Array(channels);
  const where = new Int32Array(channels);
  let outOffset = 0;
  for (let b = 0; b < info.batchSize; b++) {
    const batchOffset = b * inHeight * inWidth * channels;
    for (let oy = 0; oy < outHeight; oy++) {
      const top = oy * info.strideHeight - info.padInfo.top;
      for (let ox = 0; ox < outWidth; ox++, outOffset += channels) {
        const left = ox * info.strideWidth - info.padInfo.left;
        best.fill(-Infinity);
        where.fill(-1);
        for (let iy = Math.max(0, top); iy < Math.min(inHeight, top + info.filterHeight); iy++) {
          for (let ix = Math.max(0, left); ix < Math.min(inWidth, left + info.filterWidth); ix++) {
            const offset = batchOffset + (iy * inWidth + ix) * channels;
            for (let c = 0; c < channels; c++) {
              const value = x[offset + c] as number;
              if (value > (best[c] as number)) {
                best[c] = value;
                where[c] = offset + c;
              }
            }
          }
        }
        for (let c = 0; c < channels; c++) {
          const at = where[c] as number;
          if (at >= 0) out[at] = (out[at] as number) + (gradient[outOffset + c] as number);
        }
      }
    }
  }
  return dx;
}

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
  const values = backend.typedArrayFromHeap(x);
  const sums = new Float64Array(channels);
  for (let offset = 0; offset < values.length; offset += channels) {
    for (let c = 0; c < channels; c++) sums[c] = (sums[c] as number) + (values[offset + c] as number);
  }
  backend.typedArrayFromHeap(out).set(sums);
  return out;
}
