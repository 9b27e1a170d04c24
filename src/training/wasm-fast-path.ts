import type * as tfjs from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

// The slice of BackendWasm we touch; KernelFunc types its backend as `{}`.
interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
}
interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: NamedAttrMap;
}
type Kernel = (args: KernelArgs) => TensorInfo;

// Relative per-element costs measured on the wasm SIMD build: XNNPACK packs its weight
// operand (always `b`, with XNN_FLAG_TRANSPOSE_WEIGHTS) about 6x slower than we can transpose.
const PACK_COST = 6;
const TRANSPOSE_COST = 1;
// Transposing [R, C] with R a multiple of this writes at a cache-aliasing stride; go via [R/32, C, 32].
const ALIASING_ROWS = 128;
const TILE = 32;

const ours = new WeakSet<object>();

function isUnbatched(t: TensorInfo): boolean {
  for (let i = 0; i < t.shape.length - 2; i++) if (t.shape[i] !== 1) return false;
  return true;
}

// Swaps the last two dims of an unbatched tensor into a new buffer the caller owns.
function transposeMatrix(transpose: Kernel, backend: WasmBackend, x: TensorInfo): TensorInfo {
  const r = x.shape.length;
  const [R, C] = [x.shape[r - 2], x.shape[r - 1]];
  const outShape = [...x.shape.slice(0, -2), C, R];
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
  out.shape = outShape;
  return out;
}

function wrapMatMul(orig: Kernel, transpose: Kernel, fused: boolean): Kernel {
  // Weights XNNPACK has already packed for an earlier call stay cached on their tensor id.
  const seenWeights = new WeakSet<object>();
  return (args) => {
    const { inputs, backend, attrs } = args;
    const a = inputs.a!;
    const b = inputs.b!;
    const tA = attrs.transposeA === true;
    const tB = attrs.transposeB === true;
    // Batched products never reach XNNPACK in this kernel; leave them (and errors) to the original.
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || !isUnbatched(a) || !isUnbatched(b)) return orig(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = tA ? a.shape[ra - 1] : a.shape[ra - 2];
    const K = tA ? a.shape[ra - 2] : a.shape[ra - 1];
    const N = tB ? b.shape[rb - 2] : b.shape[rb - 1];
    if (M * K * N === 0 || (tA ? a.shape[ra - 2] : a.shape[ra - 1]) !== (tB ? b.shape[rb - 1] : b.shape[rb - 2])) {
      return orig(args);
    }
    const canSwap = !fused || (inputs.bias == null && inputs.preluActivationWeights == null && attrs.activation === 'linear');
    // Either materialise op(A), op(B) and pack op(B), or compute C^T = op(B)^T op(A)^T and pack op(A)^T,
    // which also lets a transposed operand be consumed in its stored layout.
    const bPacked = !tA && !tB && seenWeights.has(b.dataId);
    const direct = (bPacked ? 0 : PACK_COST * K * N) + TRANSPOSE_COST * ((tA ? M * K : 0) + (tB ? K * N : 0));
    const swapped = PACK_COST * M * K + TRANSPOSE_COST * ((tA ? 0 : M * K) + (tB ? 0 : K * N) + M * N);
    if (!canSwap || direct <= swapped) {
      if (!tA && !tB) {
        seenWeights.add(b.dataId);
        return orig(args);
      }
    }
    const temps: TensorInfo[] = [];
    const T = (x: TensorInfo): TensorInfo => {
      const y = transposeMatrix(transpose, backend, x);
      temps.push(y);
      return y;
    };
    const plain = { ...attrs, transposeA: false, transposeB: false };
    try {
      if (!canSwap || direct <= swapped) {
        return orig({ inputs: { ...inputs, a: tA ? T(a) : a, b: tB ? T(b) : b }, backend, attrs: plain });
      }
      const ct = orig({ inputs: { ...inputs, a: tB ? b : T(b), b: tA ? a : T(a) }, backend, attrs: plain });
      temps.push(ct);
      return transposeMatrix(transpose, backend, ct);
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
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
  const orig: KernelConfig | undefined = tf.getKernel(name, 'wasm');
  if (orig == null) throw new Error(`wasm kernel ${name} is not registered; import @tensorflow/tfjs-backend-wasm first`);
  if (ours.has(orig.kernelFunc)) return;
  const kernelFunc = make(orig.kernelFunc as unknown as Kernel) as unknown as KernelFunc;
  ours.add(kernelFunc);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...orig, kernelFunc });
}

/** Re-registers wasm matmul (and copy) kernels so training runs on XNNPACK; idempotent, call after tf.setBackend('wasm'). */
export function installWasmFastPath(tf: typeof tfjs): void {
  const transposeConfig = tf.getKernel('Transpose', 'wasm');
  if (transposeConfig == null) throw new Error('wasm kernel Transpose is not registered');
  const transpose = transposeConfig.kernelFunc as unknown as Kernel;
  replace(tf, 'BatchMatMul', (orig) => wrapMatMul(orig, transpose, false));
  replace(tf, '_FusedMatMul', (orig) => wrapMatMul(orig, transpose, true));
  replace(tf, 'Identity', (orig) => (args) => (args.inputs.x!.dtype === 'string' ? orig(args) : shareBuffer(args)));
  replace(tf, 'Cast', (orig) => (args) => (args.inputs.x!.dtype === args.attrs.dtype ? shareBuffer(args) : orig(args)));
}
