import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

// The slice of BackendWasm the fast path's kernels use; KernelFunc types its backend as `{}`.
export interface WasmBackend {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  makeOutput(shape: number[], dtype: TensorInfo['dtype']): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/** What tfjs hands a kernel on the wasm backend. */
export interface KernelArgs {
  inputs: NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: NamedAttrMap;
}

export type Kernel = (args: KernelArgs) => TensorInfo;
