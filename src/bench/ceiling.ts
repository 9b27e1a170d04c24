// The WebAssembly ceiling of a training step: the matrix products one step of a network makes, each
// timed on this process's XNNPACK (the wasm module tfjs loaded) with its operands laid out as XNNPACK
// wants them and its packed weights cached, so nothing but the product itself is measured.
import * as tf from '@tensorflow/tfjs';
import type { LayerSpec } from '../domain/job-spec.js';
import { layerShapes, windowPair, type ModelInput } from '../domain/model-shape.js';
import { median } from './loop-runner.js';

export type ProductRole = 'forward' | 'input gradient' | 'weight gradient';

/** One product C[M,N] = A[M,K] B[K,N] of a training step. */
export interface StepProduct {
  layer: number;
  role: ProductRole;
  M: number;
  K: number;
  N: number;
}

export interface MeasuredProduct extends StepProduct {
  /** GFLOP per second of wall time. */
  gflops: number;
  /** GFLOP per second of this process's CPU time, which a busy machine disturbs less. */
  cpuGflops: number;
}

/** CPU seconds this process has used (user and system). */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/**
 * The products one training step of `layers` on a batch of `batch` makes: per dense or conv2d layer
 * (a convolution as its unfolded im2col product) the forward product, the weight gradient and, but
 * for the first layer, whose input needs no gradient, the input gradient.
 */
export function stepProducts(layers: readonly LayerSpec[], input: ModelInput, batch: number): StepProduct[] {
  const products: StepProduct[] = [];
  let first = true;
  layerShapes(layers, input).forEach(({ layer, input: shape, output }, index) => {
    let rows: number;
    let inner: number;
    let columns: number;
    if (layer.type === 'dense') {
      [rows, inner, columns] = [batch, shape[0] ?? 1, layer.units];
    } else if (layer.type === 'conv2d') {
      const [height, width] = windowPair(layer.kernelSize);
      rows = batch * (output[0] ?? 1) * (output[1] ?? 1);
      [inner, columns] = [height * width * (shape[2] ?? 1), layer.filters];
    } else {
      return;
    }
    products.push({ layer: index, role: 'forward', M: rows, K: inner, N: columns });
    if (!first) products.push({ layer: index, role: 'input gradient', M: rows, K: columns, N: inner });
    products.push({ layer: index, role: 'weight gradient', M: inner, K: rows, N: columns });
    first = false;
  });
  return products;
}

/** The part of tfjs-backend-wasm's BackendWasm this reaches into. */
interface WasmBackendInternals {
  wasm: {
    cwrap(name: string, returns: null, args: string[]): (...args: (number | Uint8Array)[]) => void;
  };
  dataIdMap: { get(dataId: object): { id: number } };
}

type StockMatMul = (a: number, aShape: Uint8Array, b: number, bShape: Uint8Array, out: number) => void;

// The wasm module's own BatchMatMul export, below any kernel the fast path registers: unbatched and
// untransposed, it runs one XNNPACK fully-connected operator, cached for the `b` operand.
function stockMatMul(backend: WasmBackendInternals): StockMatMul {
  const call = backend.wasm.cwrap('BatchMatMul', null, [
    'number',
    'array',
    'number',
    'number',
    'array',
    'number',
    'number',
    'number',
    'number',
  ]);
  return (a, aShape, b, bShape, out) => call(a, aShape, 3, b, bShape, 3, 0, 0, out);
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/** GFLOP/s of one product on this thread's XNNPACK: the median of five timed rounds after a warm-up. */
function measureProduct(
  product: StepProduct,
  matMul: StockMatMul,
  backend: WasmBackendInternals,
): Pick<MeasuredProduct, 'gflops' | 'cpuGflops'> {
  const { M, K, N } = product;
  const a = tf.randomUniform([1, M, K], -1, 1, 'float32', 1);
  const b = tf.randomUniform([1, K, N], -1, 1, 'float32', 2);
  const out = tf.zeros([1, M, N]);
  const id = (tensor: tf.Tensor) => backend.dataIdMap.get(tensor.dataId).id;
  try {
    const [aShape, bShape] = [shapeBytes([1, M, K]), shapeBytes([1, K, N])];
    const run = () => matMul(id(a), aShape, id(b), bShape, id(out));
    const flops = 2 * M * K * N;
    // About 40 ms a round.
    const calls = Math.max(3, Math.round(8e8 / flops));
    for (let index = 0; index < 3; index++) run();
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let round = 0; round < 5; round++) {
      const [started, startedCpu] = [performance.now(), cpuSeconds()];
      for (let index = 0; index < calls; index++) run();
      wall.push((calls * flops) / ((performance.now() - started) / 1000) / 1e9);
      cpu.push((calls * flops) / (cpuSeconds() - startedCpu) / 1e9);
    }
    return { gflops: median(wall), cpuGflops: median(cpu) };
  } finally {
    tf.dispose([a, b, out]);
  }
}

/** Measures every product of `products` on the wasm backend, which must be the current one. */
export function measureProducts(products: readonly StepProduct[]): MeasuredProduct[] {
  if (tf.getBackend() !== 'wasm') throw new Error('the ceiling is measured on the wasm backend');
  const backend = tf.backend() as unknown as WasmBackendInternals;
  const matMul = stockMatMul(backend);
  return products.map((product) => ({ ...product, ...measureProduct(product, matMul, backend) }));
}

/**
 * The ceiling of a step made of `products`, by wall time and by CPU time: its GFLOP/s over all
 * products and the samples/s of a step that did nothing but them, at `batch`.
 */
export function ceilingOf(products: readonly MeasuredProduct[], batch: number) {
  const gflop = products.reduce((sum, { M, K, N }) => sum + (2 * M * K * N) / 1e9, 0);
  const secondsAt = (rate: (product: MeasuredProduct) => number) =>
    products.reduce((sum, product) => sum + (2 * product.M * product.K * product.N) / 1e9 / rate(product), 0);
  const [wall, cpu] = [secondsAt((product) => product.gflops), secondsAt((product) => product.cpuGflops)];
  return {
    gflop,
    gflops: gflop / wall,
    samplesPerSecond: batch / wall,
    cpuGflops: gflop / cpu,
    samplesPerCpuSecond: batch / cpu,
  };
}
