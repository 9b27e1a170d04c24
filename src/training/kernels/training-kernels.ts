import * as tf from '@tensorflow/tfjs';
import { trainingKernelsBase64 } from './training-kernels-wasm.js';

/**
 * The kernels of training-kernels.wat, on the wasm backend's heap: every pointer is a byte offset
 * there (a tensor's memoryOffset), every count is in float32 elements.
 */
export interface TrainingKernels {
  sgd(w: number, g: number, out: number, n: number, negLr: number): void;
  momentum(w: number, g: number, acc: number, out: number, n: number, negLr: number, momentum: number): void;
  adam(
    w: number,
    g: number,
    m: number,
    v: number,
    out: number,
    n: number,
    negLr: number,
    beta1: number,
    beta2: number,
    c1: number,
    c2: number,
    epsilon: number,
  ): void;
  rmsprop(
    w: number,
    g: number,
    ms: number,
    mom: number,
    out: number,
    n: number,
    learningRate: number,
    decay: number,
    momentum: number,
    epsilon: number,
  ): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  biasRows(x: number, bias: number, rows: number, cols: number, relu: number): void;
  reluGradient(d: number, a: number, n: number): void;
  rowSums(x: number, out: number, rows: number, cols: number): void;
  unfoldWindows(x: number, cols: number, ...geometry: WindowGeometry): void;
  foldWindows(cols: number, dx: number, ...geometry: WindowGeometry): void;
  maxPoolGradient(x: number, dy: number, dx: number, ...geometry: WindowGeometry): void;
  columnSums(x: number, out: number, rows: number, cols: number, scratch: number): void;
  addChannels(x: number, bias: number, out: number, rows: number, cols: number): void;
  filterGradient(
    x: number,
    dy: number,
    dw: number,
    ...geometryAndFilters: [...WindowGeometry, outChannels: number]
  ): void;
}

/** A convolution's or pool's windows over NHWC tensors, as the window kernels take them. */
export type WindowGeometry = [
  batch: number,
  inHeight: number,
  inWidth: number,
  inChannels: number,
  outHeight: number,
  outWidth: number,
  windowHeight: number,
  windowWidth: number,
  strideHeight: number,
  strideWidth: number,
  padTop: number,
  padLeft: number,
];

/** A WebAssembly.Memory (the build's lib, without the DOM, does not declare WebAssembly). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

/** The slice of the WebAssembly global used here. */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: object };
  Memory: abstract new (...args: never[]) => WasmMemory;
}

const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The part of tfjs-backend-wasm 4.22's BackendWasm whose memory the kernels share (pinned with the fast path). */
interface WasmModuleHolder {
  wasm?: { asm?: { memory?: unknown } };
}

const compiled = new wasmApi.Module(Buffer.from(trainingKernelsBase64, 'base64'));
const instances = new WeakMap<object, TrainingKernels>();

/** The kernels on `memory`. */
export function kernelsOn(memory: WasmMemory): TrainingKernels {
  return new wasmApi.Instance(compiled, { env: { memory } }).exports as TrainingKernels;
}

/** The kernels on the current backend's heap, or undefined unless it is tfjs's wasm backend. */
export function trainingKernels(): TrainingKernels | undefined {
  if (tf.getBackend() !== 'wasm') return undefined;
  const backend = tf.backend() as unknown as WasmModuleHolder;
  const memory = backend.wasm?.asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) return undefined;
  let kernels = instances.get(backend);
  if (!kernels) {
    kernels = kernelsOn(memory);
    instances.set(backend, kernels);
  }
  return kernels;
}
