import type * as tfjs from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

// The slice of BackendWasm we use; KernelFunc types its backend as `{}`.
interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: TensorInfo['dtype']): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}
interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: NamedAttrMap;
}
type Kernel = (args: KernelArgs) => TensorInfo;

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

const ours = new WeakSet<object>();

const prod = (xs: number[]): number => xs.reduce((p, x) => p * x, 1);
const isUnbatched = (t: TensorInfo): boolean => prod(t.shape.slice(0, -2)) === 1;

// Swaps the last two dims of an unbatched tensor into a new buffer the caller owns.
function transposeMatrix(transpose: Kernel, backend: WasmBackend, x: TensorInfo): TensorInfo {
  const [R, C] = x.shape.slice(-2);
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
  out.shape = [...x.shape.slice(0, -2), C, R];
  return out;
}

function wrapMatMul(orig: Kernel, transpose: Kernel, fused: boolean): Kernel {
  // Weights seen before are likely reused (inference), so packing them once for XNNPACK's
  // per-tensor operator cache beats transposing them on every call.
  const seenWeights = new WeakSet<object>();

  // The wasm kernel only reaches XNNPACK for unbatched, untransposed operands; route everything there.
  const matMul2d: Kernel = ({ inputs, backend, attrs }) => {
    const a = inputs.a!;
    const b = inputs.b!;
    const tA = attrs.transposeA === true;
    const tB = attrs.transposeB === true;
    const [M, K] = tA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
    const N = tB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const plain = !tA && !tB;
    const reused = plain && seenWeights.has(b.dataId);
    if (plain) seenWeights.add(b.dataId);
    // Either materialise op(A), op(B) and pack op(B), or compute C^T = op(B)^T op(A)^T and pack
    // op(A)^T; the latter consumes a transposed operand in its stored layout and packs the small side.
    const direct = (reused ? 0 : PACK_COST * K * N) + TRANSPOSE_COST * ((tA ? M * K : 0) + (tB ? K * N : 0));
    const swapped = PACK_COST * M * K + TRANSPOSE_COST * ((tA ? 0 : M * K) + (tB ? 0 : K * N) + M * N);
    const canSwap = !fused || (inputs.bias == null && inputs.preluActivationWeights == null && attrs.activation === 'linear');
    const useDirect = !canSwap || direct <= swapped;
    if (useDirect && plain) return orig({ inputs, backend, attrs });

    const temps: TensorInfo[] = [];
    const T = (x: TensorInfo): TensorInfo => {
      temps.push(transposeMatrix(transpose, backend, x));
      return temps[temps.length - 1];
    };
    const noTranspose = { ...attrs, transposeA: false, transposeB: false };
    try {
      if (useDirect) {
        return orig({ inputs: { ...inputs, a: tA ? T(a) : a, b: tB ? T(b) : b }, backend, attrs: noTranspose });
      }
      const ct = orig({ inputs: { ...inputs, a: tB ? b : T(b), b: tA ? a : T(a) }, backend, attrs: noTranspose });
      temps.push(ct);
      return transposeMatrix(transpose, backend, ct);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };

  // Batched products run slice by slice through matMul2d: the reference loop is slow and, for
  // _FusedMatMul, wrong in tfjs-backend-wasm 4.22 (it indexes the bias by flat output position and
  // clamps relu/relu6 partial sums per 48-wide block of K).
  const batched: Kernel = (args) => {
    const { inputs, backend, attrs } = args;
    const a = inputs.a!;
    const b = inputs.b!;
    const tA = attrs.transposeA === true;
    const [M, K] = tA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
    const N = attrs.transposeB === true ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
    const rank = Math.max(a.shape.length, b.shape.length) - 2;
    const outer = (t: TensorInfo): number[] => [...Array<number>(rank + 2 - t.shape.length).fill(1), ...t.shape.slice(0, -2)];
    const [oa, ob] = [outer(a), outer(b)];
    const broadcastOk = oa.every((d, i) => d === ob[i] || d === 1 || ob[i] === 1);
    if (!broadcastOk || (!fused && M * K * N < MIN_SLICE_WORK)) return orig(args);

    const outOuter = oa.map((d, i) => Math.max(d, ob[i]));
    const out = backend.makeOutput([...outOuter, M, N], 'float32');
    const slice = (t: TensorInfo, dims: number[], flat: number): TensorInfo => {
      const shape = [1, ...t.shape.slice(-2)]; // _FusedMatMul expects rank 3
      if (prod(dims) === 1) return { dataId: t.dataId, shape, dtype: t.dtype };
      const s = backend.makeOutput(shape, t.dtype);
      const n = shape[1] * shape[2];
      backend.typedArrayFromHeap(s).set(backend.typedArrayFromHeap(t).subarray(flat * n, (flat + 1) * n));
      return s;
    };
    for (let i = 0; i < prod(outOuter); i++) {
      let [rem, ia, ib, sa, sb] = [i, 0, 0, 1, 1];
      for (let d = rank - 1; d >= 0; d--) {
        const c = rem % outOuter[d];
        rem = Math.floor(rem / outOuter[d]);
        if (oa[d] > 1) ia += c * sa;
        if (ob[d] > 1) ib += c * sb;
        sa *= oa[d];
        sb *= ob[d];
      }
      const [as, bs] = [slice(a, oa, ia), slice(b, ob, ib)];
      const y = matMul2d({ inputs: { ...inputs, a: as, b: bs }, backend, attrs });
      backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(y), i * M * N);
      for (const t of [y, ...(as.dataId === a.dataId ? [] : [as]), ...(bs.dataId === b.dataId ? [] : [bs])]) {
        backend.disposeData(t.dataId);
      }
    }
    return out;
  };

  return (args) => {
    const { a, b } = args.inputs;
    if (a!.dtype !== 'float32' || b!.dtype !== 'float32' || Math.min(...a!.shape, ...b!.shape) === 0) return orig(args);
    const tA = args.attrs.transposeA === true;
    const tB = args.attrs.transposeB === true;
    const innerA = a!.shape[a!.shape.length - (tA ? 2 : 1)];
    const innerB = b!.shape[b!.shape.length - (tB ? 1 : 2)];
    if (innerA !== innerB) return orig(args); // let the original report the shape error
    return isUnbatched(a!) && isUnbatched(b!) ? matMul2d(args) : batched(args);
  };
}

// Engine.clone (used to save every tape input/output for backprop) runs Identity, which the wasm
// backend implements as a full copy; sharing the buffer like Reshape does is safe as tensors are immutable.
const shareBuffer: Kernel = ({ inputs, backend }) => {
  const x = inputs.x!;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

function replace(tf: typeof tfjs, name: string, make: (orig: Kernel) => Kernel): void {
  const config: KernelConfig | undefined = tf.getKernel(name, 'wasm');
  if (config == null) throw new Error(`wasm kernel ${name} is not registered; import @tensorflow/tfjs-backend-wasm first`);
  if (ours.has(config.kernelFunc)) return;
  const kernelFunc = make(config.kernelFunc as unknown as Kernel) as unknown as KernelFunc;
  ours.add(kernelFunc);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...config, kernelFunc });
}

/** Re-registers wasm BatchMatMul/_FusedMatMul (and copying Identity/Cast) so training runs on XNNPACK; idempotent, call after tf.setBackend('wasm'). */
export function installWasmFastPath(tf: typeof tfjs): void {
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (transpose == null) throw new Error('wasm kernel Transpose is not registered; import @tensorflow/tfjs-backend-wasm first');
  const transposeFn = transpose.kernelFunc as unknown as Kernel;
  replace(tf, 'BatchMatMul', (orig) => wrapMatMul(orig, transposeFn, false));
  replace(tf, '_FusedMatMul', (orig) => wrapMatMul(orig, transposeFn, true));
  replace(tf, 'Identity', (orig) => (args) => (args.inputs.x!.dtype === 'string' ? orig(args) : shareBuffer(args)));
  replace(tf, 'Cast', (orig) => (args) =>
    args.inputs.x!.dtype === args.attrs.dtype && args.attrs.dtype !== 'string' ? shareBuffer(args) : orig(args));
}
