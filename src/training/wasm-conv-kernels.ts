import type * as tfjs from '@tensorflow/tfjs';
import type { TensorInfo } from '@tensorflow/tfjs';
import type { WindowGeometry } from './kernels/training-kernels.js';
import { heapKernels } from './wasm-heap-kernels.js';
import type { Kernel, KernelArgs } from './wasm-kernel-types.js';

/**
 * Convolution and pooling gradients for the wasm backend: tfjs-backend-wasm 4.22 has no
 * Conv2DBackpropFilter at all, and its Conv2DBackpropInput and MaxPoolGrad are scalar loops. The
 * filter gradient is one SIMD kernel (kernels/training-kernels.wat) when the filters come in fours,
 * else, like the input gradient, a matrix product on XNNPACK around SIMD kernels that unfold (im2col)
 * or fold back (col2im) the convolution's windows on the wasm heap; the products go to the BatchMatMul
 * kernel registered at the time of the call (the fast path's, which reaches XNNPACK for transposed
 * operands too).
 */

type Quad = [number, number, number, number];

/** The geometry of a convolution's or pool's windows, NHWC, from tfjs's own shape arithmetic. */
function windowGeometry(info: tfjs.backend_util.Conv2DInfo): WindowGeometry {
  return [
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  ];
}

function convGeometry(tf: typeof tfjs, inShape: Quad, filterShape: Quad, args: KernelArgs): WindowGeometry {
  const { strides, pad, dimRoundingMode } = args.attrs;
  return windowGeometry(
    tf.backend_util.computeConv2DInfo(
      inShape,
      filterShape,
      strides as number | [number, number],
      1,
      pad as 'valid' | 'same' | number,
      dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    ),
  );
}

/** Columns of the unfolded matrix: one per filter tap and input channel, in the filter's own order. */
const windowLength = ([, , , inChannels, , , height, width]: WindowGeometry): number => height * width * inChannels;
/** Rows of the unfolded matrix: one per output position of every example. */
const positions = ([batch, , , , outHeight, outWidth]: WindowGeometry): number => batch * outHeight * outWidth;

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
  const g = convGeometry(tf, x.shape as Quad, filterShape, args);
  const { backend } = args;
  const { kernels, at } = heapKernels(args);
  // Without unfolding when the filters come in fours: faster than im2col, a transpose, packing dy and
  // XNNPACK's product for every network bench:train and bench:conv train.
  if (filterShape[3] % 4 === 0) {
    const dw = backend.makeOutput([...filterShape], 'float32');
    kernels.filterGradient(at(x), at(dy), at(dw), ...g, filterShape[3]);
    return dw;
  }
  const cols = backend.makeOutput([1, positions(g), windowLength(g)], 'float32');
  try {
    kernels.unfoldWindows(at(x), at(cols), ...g);
    const dw = matMul(tf, args, cols, view(dy, [1, positions(g), filterShape[3]]), true, false);
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
  const g = convGeometry(tf, inputShape, filter.shape as Quad, args);
  const { backend } = args;
  const outChannels = filter.shape[3] ?? 1;
  const weights = view(filter, [1, windowLength(g), outChannels]);
  const cols = matMul(tf, args, view(dy, [1, positions(g), outChannels]), weights, false, true);
  try {
    const dx = backend.makeOutput([...inputShape], 'float32');
    const { kernels, at } = heapKernels(args);
    kernels.foldWindows(at(cols), at(dx), ...g);
    return dx;
  } finally {
    backend.disposeData(cols.dataId);
  }
}

/**
 * MaxPoolGrad as the cpu backend computes it (each output's gradient goes to the first largest input
 * of its window, in row-major window order), as one SIMD kernel; the wasm kernel's loop is about ten
 * times slower on training-sized pools.
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
  const dx = args.backend.makeOutput([...input.shape], 'float32');
  const { kernels, at } = heapKernels(args);
  kernels.maxPoolGradient(at(input), at(dy), at(dx), ...windowGeometry(info));
  return dx;
}
