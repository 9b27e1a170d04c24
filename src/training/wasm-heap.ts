import * as tf from '@tensorflow/tfjs';

/**
 * The parts of tfjs-backend-wasm 4.22's BackendWasm that code working on its heap directly needs
 * (pinned with the fast path, FAST_PATH_TFJS_VERSION): where each tensor's data lies, the C++ side's
 * tensor registry, and the exported kernels.
 */
export interface WasmBackendInternals {
  dataIdNextNumber: number;
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number; shape: number[]; refCount: number } | undefined;
  };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  wasm: {
    HEAPF32: Float32Array;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    _BatchMatMul(
      aId: number,
      aShape: number,
      aRank: number,
      bId: number,
      bShape: number,
      bRank: number,
      transposeA: number,
      transposeB: number,
      outId: number,
    ): void;
    tfjs: {
      registerTensor(id: number, size: number, memoryOffset: number): void;
      disposeData(id: number): void;
    };
  };
}

/** The wasm backend's internals, or undefined when the current backend is another one. */
export function wasmBackend(): WasmBackendInternals | undefined {
  return tf.getBackend() === 'wasm' ? (tf.backend() as unknown as WasmBackendInternals) : undefined;
}

/** Where `tensor`'s values lie on the wasm heap (a byte offset). */
export function heapOffset(backend: WasmBackendInternals, tensor: tf.Tensor | tf.TensorInfo): number {
  const data = backend.dataIdMap.get(tensor.dataId);
  if (!data) throw new Error('the tensor has no data on the wasm backend');
  return data.memoryOffset;
}

/**
 * Gives `tensor` a new id on the C++ side, keeping its memory and its tfjs identity: XNNPACK
 * operators cached for the old id (with weights packed from the old values) go with it. Call after
 * writing a tensor's values in place, before anything multiplies by it again.
 */
export function renewId(backend: WasmBackendInternals, tensor: tf.Tensor): void {
  const data = backend.dataIdMap.get(tensor.dataId);
  if (!data) throw new Error('the tensor has no data on the wasm backend');
  backend.wasm.tfjs.disposeData(data.id);
  data.id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(data.id, tensor.size, data.memoryOffset);
}
