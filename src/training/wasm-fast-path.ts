import type * as tfjs from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';

import { addChannels, sumLeadingAxes } from './wasm-bias-kernels.js';
import { conv2dBackpropFilter, conv2dBackpropInput, maxPoolGrad } from './wasm-conv-kernels.js';
import type { Kernel, KernelArgs, WasmBackend } from './wasm-kernel-types.js';

export type { Kernel, KernelArgs, WasmBackend } from './wasm-kernel-types.js';

/**
 * The @tensorflow/tfjs-core and @tensorflow/tfjs-backend-wasm release these kernels were written
 * and checked against (test/training/wasm-fast-path.test.ts). They lean on that release's internals
 * (kernel names and attributes, BackendWasm's private methods, the reference kernels' bugs), so
 * on any other release the fast path stays out until it has been checked again and this is updated.
 */
export const FAST_PATH_TFJS_VERSION = '4.22.0';

/** Installed versions the fast path depends on. */
export interface TfjsVersions {
  /** @tensorflow/tfjs-core (`tf.version_core`). */
  core: string;
  /** @tensorflow/tfjs-backend-wasm (its `version_wasm`). */
  wasm: string;
}

/** Why the fast path must not run on `versions`, or undefined when they are the ones it was written for. */
export function fastPathVersionMismatch(versions: TfjsVersions): string | undefined {
  const wrong = [
    ...(versions.core === FAST_PATH_TFJS_VERSION ? [] : [`@tensorflow/tfjs-core ${versions.core}`]),
    ...(versions.wasm === FAST_PATH_TFJS_VERSION ? [] : [`@tensorflow/tfjs-backend-wasm ${versions.wasm}`]),
  ];
  if (wrong.length === 0) return undefined;
  return (
    `the WebAssembly fast path (src/training/wasm-fast-path.ts) was written for tfjs ${FAST_PATH_TFJS_VERSION} ` +
    `and patches its internals, but ${wrong.join(' and ')} ${wrong.length > 1 ? 'are' : 'is'} installed: ` +
    `pin @tensorflow/* to ${FAST_PATH_TFJS_VERSION} exactly, or check the fast path against the new release ` +
    `(test/training/wasm-fast-path.test.ts) and update FAST_PATH_TFJS_VERSION`
  );
}

// Relative per-element costs on the wasm SIMD build: XNNPACK packs its weight operand (always `b`,
// with XNN_FLAG_TRANSPOSE_WEIGHTS) about 6x slower than the Transpose kernel copies.
const PACK_COST = 6;
const TRANSPOSE_COST = 1;
// Transpose writes rows of R floats; when R is a multiple of this the stride aliases in cache,
// so such matrices go through [R/TILE, C, TILE] (about 3x faster for 512x512).
const ALIASING_ROWS = 128;
const TILE = 32;
// Below about this many multiply-adds per matrix, per-slice XNNPACK calls cost more than the reference loop.
const MIN_SLICE_WORK = 1 << 16;

// Our replacement kernels, so a second install does not wrap them again.
const ours = new WeakSet<object>();

const prod = (xs: number[]): number => xs.reduce((p, x) => p * x, 1);
const outerDims = (t: TensorInfo): number[] => t.shape.slice(0, -2);
// [rows, cols] of the trailing matrix.
const matrix = (t: TensorInfo): [number, number] => [
  t.shape[t.shape.length - 2] ?? 1,
  t.shape[t.shape.length - 1] ?? 1,
];

// M, K, N of op(a) [M,K] x op(b) [K,N], plus b's own K to check against.
function productDims(
  a: TensorInfo,
  b: TensorInfo,
  tA: boolean,
  tB: boolean,
): { M: number; K: number; N: number; kB: number } {
  const [ar, ac] = matrix(a);
  const [br, bc] = matrix(b);
  return { M: tA ? ac : ar, K: tA ? ar : ac, N: tB ? br : bc, kB: tB ? bc : br };
}

// Swaps the last two dims of an unbatched tensor into a new buffer the caller owns.
function transposeMatrix(transpose: Kernel, backend: WasmBackend, x: TensorInfo): TensorInfo {
  const [R, C] = matrix(x);
  const run = (shape: number[], perm: number[], src: TensorInfo): TensorInfo =>
    transpose({ inputs: { x: { dataId: src.dataId, shape, dtype: src.dtype } }, backend, attrs: { perm } });
  let out: TensorInfo;
  if (R % ALIASING_ROWS === 0 && C > 1) {
    const tmp = run([R / TILE, TILE, C], [0, 2, 1], x);
    out = run([R / TILE, C, TILE], [1, 0, 2], tmp);
    backend.disposeData(tmp.dataId);
  } else {
    out = run([R, C], [1, 0], x);
  }
  out.shape = [...outerDims(x), C, R];
  return out;
}

/** The backend kernels the fast path composes with the original matMul. */
interface HelperKernels {
  transpose: Kernel;
  add: Kernel;
  activations: Partial<Record<string, Kernel>>;
}

// _FusedMatMul activations we can apply after the product with the backend's own kernel.
const activationKernels = {
  relu: 'Relu',
  relu6: 'Relu6',
  sigmoid: 'Sigmoid',
  elu: 'Elu',
  leakyrelu: 'LeakyRelu',
} as const;

/** What _FusedMatMul adds after the product: a bias per column and an activation. */
interface Epilogue {
  bias?: TensorInfo;
  activation: string;
  attrs: NamedAttrMap;
  /** Elementwise passes over the output it takes when run separately. */
  passes: number;
}

// The fused call's bias and activation when they can run as separate kernels: a bias of one value per
// output column and an activation without per-element weights. Otherwise undefined, and the product
// must go to the original kernel, which fuses them itself.
function separableEpilogue(args: KernelArgs, N: number, helpers: HelperKernels): Epilogue | undefined {
  const { bias, preluActivationWeights } = args.inputs;
  const activation = typeof args.attrs.activation === 'string' ? args.attrs.activation : 'linear';
  if (preluActivationWeights != null || (activation !== 'linear' && helpers.activations[activation] == null))
    return undefined;
  // Only the rank-1 bias the wasm kernel itself accepts: one value per output column.
  if (bias != null && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== N)) return undefined;
  return {
    ...(bias == null ? {} : { bias }),
    activation,
    attrs: { alpha: args.attrs.leakyreluAlpha ?? 0.2 },
    passes: (bias == null ? 0 : 1) + (activation === 'linear' ? 0 : 1),
  };
}

/** Applies `epilogue` to `product`, freeing `product` and each intermediate; returns the final output. */
function applyEpilogue(
  helpers: HelperKernels,
  backend: WasmBackend,
  product: TensorInfo,
  epilogue: Epilogue,
): TensorInfo {
  let out = product;
  try {
    if (epilogue.bias != null) {
      const added = helpers.add({ inputs: { a: out, b: epilogue.bias }, backend, attrs: {} });
      backend.disposeData(out.dataId);
      out = added;
    }
    const activate = helpers.activations[epilogue.activation];
    if (activate != null) {
      const activated = activate({ inputs: { x: out }, backend, attrs: epilogue.attrs });
      backend.disposeData(out.dataId);
      out = activated;
    }
    return out;
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  }
}

/** What a wrapped BatchMatMul or _FusedMatMul works with. */
interface MatMulContext {
  orig: Kernel;
  helpers: HelperKernels;
  /** Whether this is _FusedMatMul, whose bias and activation follow the product. */
  fused: boolean;
  // Weights on their third use are likely to be reused many more times (inference over batches),
  // so packing them once into XNNPACK's per-tensor operator cache beats transposing them per call;
  // waiting for the third use keeps a training step plus one validation pass on the cheap path.
  weightUses: WeakMap<object, number>;
}

/** How matMul2d computes a product: directly (op(A) op(B)) or swapped (C^T = op(B)^T op(A)^T). */
interface ProductPlan {
  tA: boolean;
  tB: boolean;
  /** Neither operand is transposed. */
  plain: boolean;
  useDirect: boolean;
  /** The fused bias and activation when the product may be swapped; undefined keeps it direct. */
  epilogue: Epilogue | undefined;
}

function planProduct(context: MatMulContext, args: KernelArgs, a: TensorInfo, b: TensorInfo): ProductPlan {
  const { attrs } = args;
  const tA = attrs.transposeA === true;
  const tB = attrs.transposeB === true;
  const { M, K, N } = productDims(a, b, tA, tB);
  const plain = !tA && !tB;
  const uses = plain ? (context.weightUses.get(b.dataId) ?? 0) + 1 : 0;
  if (plain) context.weightUses.set(b.dataId, uses);
  const reused = uses > 2;
  // A fused bias and activation either stay inside the original kernel (direct) or run as separate
  // kernels after a swapped product.
  const epilogue: Epilogue | undefined = context.fused
    ? separableEpilogue(args, N, context.helpers)
    : { activation: 'linear', attrs: {}, passes: 0 };
  // Either materialise op(A), op(B) and pack op(B), or compute C^T = op(B)^T op(A)^T and pack
  // op(A)^T; the latter consumes a transposed operand in its stored layout and packs the small side.
  const direct = (reused ? 0 : PACK_COST * K * N) + TRANSPOSE_COST * ((tA ? M * K : 0) + (tB ? K * N : 0));
  const swapped =
    PACK_COST * M * K + TRANSPOSE_COST * ((tA ? 0 : M * K) + (tB ? 0 : K * N) + M * N * (1 + (epilogue?.passes ?? 0)));
  return { tA, tB, plain, useDirect: epilogue == null || direct <= swapped, epilogue };
}

// The wasm kernel only reaches XNNPACK for unbatched, untransposed operands; route everything there.
function matMul2d(context: MatMulContext, args: KernelArgs, a: TensorInfo, b: TensorInfo): TensorInfo {
  const { orig, helpers } = context;
  const { inputs, backend, attrs } = args;
  const { tA, tB, plain, useDirect, epilogue } = planProduct(context, args, a, b);
  if (useDirect && plain) return orig({ inputs: { ...inputs, a, b }, backend, attrs });

  const temps: TensorInfo[] = [];
  const T = (x: TensorInfo): TensorInfo => {
    const y = transposeMatrix(helpers.transpose, backend, x);
    temps.push(y);
    return y;
  };
  const untransposed = { ...attrs, transposeA: false, transposeB: false };
  try {
    if (useDirect || epilogue == null) {
      return orig({ inputs: { ...inputs, a: tA ? T(a) : a, b: tB ? T(b) : b }, backend, attrs: untransposed });
    }
    const ct = orig({
      inputs: { a: tB ? b : T(b), b: tA ? a : T(a) },
      backend,
      attrs: { ...untransposed, activation: 'linear' },
    });
    temps.push(ct);
    return applyEpilogue(helpers, backend, transposeMatrix(helpers.transpose, backend, ct), epilogue);
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/** Flat batch index into each operand for output batch `index`, with size-1 dims broadcast. */
function operandIndices(index: number, outOuter: number[], oa: number[], ob: number[]): [number, number] {
  let [rest, ia, ib, strideA, strideB] = [index, 0, 0, 1, 1];
  for (let d = outOuter.length - 1; d >= 0; d--) {
    const [size, da, db] = [outOuter[d] ?? 1, oa[d] ?? 1, ob[d] ?? 1];
    const coord = rest % size;
    rest = Math.floor(rest / size);
    if (da > 1) ia += coord * strideA;
    if (db > 1) ib += coord * strideB;
    strideA *= da;
    strideB *= db;
  }
  return [ia, ib];
}

// Matrix `index` of `t` as a rank-3 tensor (_FusedMatMul expects rank 3). Operands without batch dims
// are passed as views so XNNPACK can reuse their packed weights; others are copied out.
function matrixSlice(backend: WasmBackend, t: TensorInfo, dims: number[], index: number): TensorInfo {
  const shape = [1, ...matrix(t)];
  if (prod(dims) === 1) return { dataId: t.dataId, shape, dtype: t.dtype };
  const s = backend.makeOutput(shape, t.dtype);
  const n = prod(shape);
  backend.typedArrayFromHeap(s).set(backend.typedArrayFromHeap(t).subarray(index * n, (index + 1) * n));
  return s;
}

// Batched products run slice by slice through matMul2d: the reference loop is slow and, for
// _FusedMatMul, wrong in tfjs-backend-wasm 4.22 (it indexes the bias by flat output position and
// clamps relu/relu6 partial sums per 48-wide block of K).
function batchedMatMul(context: MatMulContext, args: KernelArgs, a: TensorInfo, b: TensorInfo): TensorInfo {
  const { backend, attrs } = args;
  const { M, K, N } = productDims(a, b, attrs.transposeA === true, attrs.transposeB === true);
  const rank = Math.max(a.shape.length, b.shape.length) - 2;
  const pad = (t: TensorInfo): number[] => [...Array<number>(rank + 2 - t.shape.length).fill(1), ...outerDims(t)];
  const [oa, ob] = [pad(a), pad(b)];
  const outOuter = oa.map((d, i) => Math.max(d, ob[i] ?? 1));
  const broadcastOk = oa.every((d, i) => d === ob[i] || d === 1 || ob[i] === 1);
  if (!broadcastOk || (!context.fused && M * K * N < MIN_SLICE_WORK)) return context.orig(args);

  const out = backend.makeOutput([...outOuter, M, N], 'float32');
  for (let i = 0; i < prod(outOuter); i++) {
    const [ia, ib] = operandIndices(i, outOuter, oa, ob);
    const [as, bs] = [matrixSlice(backend, a, oa, ia), matrixSlice(backend, b, ob, ib)];
    const y = matMul2d(context, args, as, bs);
    backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(y), i * M * N);
    for (const t of [y, as, bs]) if (t.dataId !== a.dataId && t.dataId !== b.dataId) backend.disposeData(t.dataId);
  }
  return out;
}

function wrapMatMul(orig: Kernel, helpers: HelperKernels, fused: boolean): Kernel {
  const context: MatMulContext = { orig, helpers, fused, weightUses: new WeakMap() };
  return (args) => {
    const { a, b } = args.inputs;
    if (a == null || b == null || a.dtype !== 'float32' || b.dtype !== 'float32') return orig(args);
    const { K, kB } = productDims(a, b, args.attrs.transposeA === true, args.attrs.transposeB === true);
    // Empty and mismatched operands go to the original, which also reports shape errors.
    if (K !== kB || prod(a.shape) === 0 || prod(b.shape) === 0) return orig(args);
    const unbatched = prod(outerDims(a)) === 1 && prod(outerDims(b)) === 1;
    return unbatched ? matMul2d(context, args, a, b) : batchedMatMul(context, args, a, b);
  };
}

// Engine.clone (used to save every tape input/output for backprop) runs Identity, which the wasm
// backend implements as a full copy; sharing the buffer like Reshape does is safe as tensors are immutable.
const shareBuffer = (backend: WasmBackend, x: TensorInfo): TensorInfo => {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

function wasmKernel(tf: typeof tfjs, name: string): KernelConfig {
  const config: KernelConfig | undefined = tf.getKernel(name, 'wasm');
  if (config == null)
    throw new Error(`wasm kernel ${name} is not registered; import @tensorflow/tfjs-backend-wasm first`);
  return config;
}

function replace(tf: typeof tfjs, name: string, make: (orig: Kernel) => Kernel): void {
  const config = wasmKernel(tf, name);
  if (ours.has(config.kernelFunc)) return;
  const kernelFunc = make(config.kernelFunc as unknown as Kernel) as unknown as KernelFunc;
  ours.add(kernelFunc);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...config, kernelFunc });
}

/** Whether the fast path's kernels are the wasm backend's now. */
export function wasmFastPathInstalled(tf: typeof tfjs): boolean {
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  return matMul !== undefined && ours.has(matMul.kernelFunc);
}

/**
 * Registers the kernels tfjs-backend-wasm lacks and training needs (Conv2DBackpropFilter, the filter
 * gradient of every convolution); idempotent, and leaves a kernel alone once the backend has its own.
 * Installed with the fast path and, without it, on its own, as conv training cannot run otherwise.
 */
export function registerMissingWasmKernels(tf: typeof tfjs): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') != null) return;
  const kernelFunc = ((args: KernelArgs) => conv2dBackpropFilter(tf, args)) as unknown as KernelFunc;
  ours.add(kernelFunc);
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc });
}

/**
 * Re-registers wasm BatchMatMul/_FusedMatMul (and the copying Identity/Cast), replaces the scalar
 * Conv2DBackpropInput and MaxPoolGrad, adds biases and sums their gradients in one pass, and adds the missing
 * Conv2DBackpropFilter, so training runs on XNNPACK; idempotent, call after tf.setBackend('wasm') with the loaded backend's `version_wasm`.
 * On a tfjs release other than FAST_PATH_TFJS_VERSION it installs nothing, emits a process warning
 * and returns false: training then runs on the stock wasm kernels, slower but correct.
 */
export function installWasmFastPath(tf: typeof tfjs, wasmVersion: string): boolean {
  const mismatch = fastPathVersionMismatch({ core: tf.version_core, wasm: wasmVersion });
  if (mismatch !== undefined) {
    process.emitWarning(`${mismatch}; training runs on the stock WebAssembly kernels`, {
      code: 'TRAINER_WASM_FAST_PATH_VERSION',
    });
    return false;
  }
  const kernel = (name: string) => wasmKernel(tf, name).kernelFunc as unknown as Kernel;
  const helpers: HelperKernels = {
    transpose: kernel('Transpose'),
    add: kernel('Add'),
    activations: Object.fromEntries(
      Object.entries(activationKernels).map(([activation, name]) => [activation, kernel(name)]),
    ),
  };
  replace(tf, 'BatchMatMul', (orig) => wrapMatMul(orig, helpers, false));
  replace(tf, 'Conv2DBackpropInput', () => (args) => conv2dBackpropInput(tf, args));
  replace(tf, 'MaxPoolGrad', () => (args) => maxPoolGrad(tf, args));
  replace(tf, 'Sum', (orig) => (args) => sumLeadingAxes(orig, args));
  replace(tf, 'Add', (orig) => (args) => addChannels(orig, args));
  registerMissingWasmKernels(tf);
  replace(tf, '_FusedMatMul', (orig) => wrapMatMul(orig, helpers, true));
  replace(tf, 'Identity', (orig) => (args) => {
    const x = args.inputs.x;
    return x == null || x.dtype === 'string' ? orig(args) : shareBuffer(args.backend, x);
  });
  // Cast to the same dtype is another full copy (Relu's gradient casts step(x) to float32).
  replace(tf, 'Cast', (orig) => (args) => {
    const x = args.inputs.x;
    return x == null || x.dtype !== args.attrs.dtype || x.dtype === 'string'
      ? orig(args)
      : shareBuffer(args.backend, x);
  });
  return true;
}
