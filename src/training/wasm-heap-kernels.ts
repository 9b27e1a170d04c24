import type { TensorInfo } from '@tensorflow/tfjs';
import { trainingKernels, type TrainingKernels } from './kernels/training-kernels.js';
import { heapOffset, type WasmBackendInternals } from './wasm-heap.js';
import type { KernelArgs } from './wasm-kernel-types.js';

/** The SIMD kernels on the backend's heap and where a tensor lies there. */
export function heapKernels(args: KernelArgs): { kernels: TrainingKernels; at: (t: TensorInfo) => number } {
  const kernels = trainingKernels();
  if (kernels === undefined) throw new Error('the WebAssembly training kernels need the wasm backend');
  const backend = args.backend as unknown as WasmBackendInternals;
  return { kernels, at: (t) => heapOffset(backend, t) };
}
