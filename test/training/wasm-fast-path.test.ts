import * as tf from '@tensorflow/tfjs';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LayerSpec, OptimizerName } from '../../src/domain/job-spec.js';
import { loadDataset, type Dataset } from '../../src/datasets/loading/index.js';
import { buildModel } from '../../src/training/model.js';
import { createOptimizer, disposeOptimizer, trainingStep } from '../../src/training/optimizer.js';
import {
  FAST_PATH_TFJS_VERSION,
  fastPathVersionMismatch,
  installWasmFastPath,
} from '../../src/training/wasm-fast-path.js';

// Every layer type and every activation the spec allows.
const layers: LayerSpec[] = [
  { type: 'dense', units: 256, activation: 'relu' },
  { type: 'dropout', rate: 0.3 },
  { type: 'dense', units: 128, activation: 'tanh' },
  { type: 'dense', units: 48, activation: 'sigmoid' },
  { type: 'dense', units: 32, activation: 'linear' },
  { type: 'dense', units: 10, activation: 'linear' },
];
const learningRates: Record<OptimizerName, number> = { sgd: 0.05, momentum: 0.05, adam: 0.001, rmsprop: 0.001 };

interface StepResult {
  loss: number;
  initial: Float32Array[];
  gradients: Float32Array[];
  weights: Float32Array[];
}

/** One production training step from the same initial weights and batch, on whichever backend is set. */
function stepOnce(dataset: Dataset, optimizerName: OptimizerName): StepResult {
  const batch = 64;
  const features = dataset.train.features;
  const inputs = dataset.train.inputs.slice(0, batch * features);
  const targets = new Float32Array(batch * 10);
  for (let row = 0; row < batch; row++) targets[row * 10 + (dataset.train.labels[row] as number)] = 1;
  const model = buildModel(layers, features, 11);
  const optimizer = createOptimizer(optimizerName, learningRates[optimizerName]);
  try {
    const initial = model.variables.map((variable) => Float32Array.from(variable.dataSync()));
    const gradients = tf.tidy(() => {
      const x = tf.tensor2d(inputs, [batch, features]);
      const y = tf.tensor2d(targets, [batch, 10]);
      const { grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.logits(x, { dropoutSeed: 99 })),
        model.variables,
      );
      return model.variables.map((variable) => Float32Array.from((grads[variable.name] as tf.Tensor).dataSync()));
    });
    const loss = trainingStep(model, optimizer, inputs, targets, 99);
    const value = loss.dataSync()[0] as number;
    loss.dispose();
    return {
      loss: value,
      initial,
      gradients,
      weights: model.variables.map((variable) => Float32Array.from(variable.dataSync())),
    };
  } finally {
    disposeOptimizer(optimizer);
    model.dispose();
  }
}

/** max |a - b| / max |b|: for sums, where elementwise ratios blow up wherever terms cancel. */
function normRelative(a: Float32Array, b: Float32Array): number {
  let difference = 0;
  let scale = 0;
  for (let index = 0; index < b.length; index++) {
    difference = Math.max(difference, Math.abs((a[index] as number) - (b[index] as number)));
    scale = Math.max(scale, Math.abs(b[index] as number));
  }
  return difference / scale;
}

const minus = (a: Float32Array, b: Float32Array) => a.map((value, index) => value - (b[index] as number));

/**
 * Largest |a - b| / (|b| + 1e-3) over the elements `include` keeps: below 1e-4 it means
 * |a - b| <= 1e-4 |b| + 1e-7, relative but for weights that pass through zero.
 */
function worstRelative(a: Float32Array, b: Float32Array, include: (index: number) => boolean = () => true): number {
  let worst = 0;
  for (let index = 0; index < b.length; index++) {
    if (!include(index)) continue;
    worst = Math.max(
      worst,
      Math.abs((a[index] as number) - (b[index] as number)) / (Math.abs(b[index] as number) + 1e-3),
    );
  }
  return worst;
}

const installed = { core: tf.version_core, wasm: version_wasm };

describe('the tfjs version the WebAssembly fast path was written for', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it(`is the one installed (${FAST_PATH_TFJS_VERSION})`, () => {
    const mismatch = fastPathVersionMismatch(installed);
    // The whole message, which says which package differs and what to do about it.
    if (mismatch !== undefined) expect.fail(mismatch);
  });

  it('is refused with a message naming the package, both versions and the fix', () => {
    const message = fastPathVersionMismatch({ core: FAST_PATH_TFJS_VERSION, wasm: '4.23.0' });
    expect(message).toContain(`written for tfjs ${FAST_PATH_TFJS_VERSION}`);
    expect(message).toContain('@tensorflow/tfjs-backend-wasm 4.23.0 is installed');
    expect(message).not.toContain('tfjs-core');
    expect(message).toContain(`pin @tensorflow/* to ${FAST_PATH_TFJS_VERSION} exactly`);
    expect(message).toContain('update FAST_PATH_TFJS_VERSION');
    expect(fastPathVersionMismatch({ core: '4.23.0', wasm: '4.23.0' })).toContain(
      '@tensorflow/tfjs-core 4.23.0 and @tensorflow/tfjs-backend-wasm 4.23.0 are installed',
    );
  });

  it('keeps the stock kernels and warns when installed on another version', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const before = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc;
    expect(installWasmFastPath(tf, '4.23.0')).toBe(false);
    expect(tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc).toBe(before);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/stock WebAssembly kernels/), {
      code: 'TRAINER_WASM_FAST_PATH_VERSION',
    });
  });
});

describe('WebAssembly fast path', () => {
  let dataset: Dataset;
  const reference = new Map<OptimizerName, StepResult>();

  beforeAll(async () => {
    // Fails every test below loudly, with what to do, rather than checking kernels written for another release.
    const mismatch = fastPathVersionMismatch(installed);
    if (mismatch !== undefined) throw new Error(mismatch);
    dataset = await loadDataset('mnist');
    await tf.setBackend('cpu');
    for (const optimizer of Object.keys(learningRates) as OptimizerName[])
      reference.set(optimizer, stepOnce(dataset, optimizer));
    await tf.setBackend('wasm');
    expect(installWasmFastPath(tf, version_wasm)).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const optimizer of Object.keys(learningRates) as OptimizerName[]) {
    it(`leaves the same weights as the plain CPU backend after one ${optimizer} step, within 1e-4 relative`, () => {
      const expected = reference.get(optimizer) as StepResult;
      const actual = stepOnce(dataset, optimizer);
      expect(actual.loss).toBeCloseTo(expected.loss, 5);
      expect(actual.weights).toHaveLength(expected.weights.length);
      actual.weights.forEach((weights, index) => {
        expect(actual.initial[index]).toEqual(expected.initial[index]);
        const gradient = expected.gradients[index] as Float32Array;
        expect(
          normRelative(actual.gradients[index] as Float32Array, gradient),
          `gradient of variable ${index}`,
        ).toBeLessThan(1e-4);
        // Adam and RMSProp divide by sqrt(g^2)+1e-7, so where a gradient is small (below 1e-4) they turn
        // last-bit rounding into a step-sized difference (between stock wasm and cpu as well); such
        // elements are judged by the gradient check above instead.
        const adaptive = optimizer === 'adam' || optimizer === 'rmsprop';
        const judged = (element: number) => !adaptive || Math.abs(gradient[element] as number) > 1e-4;
        expect(
          worstRelative(weights, expected.weights[index] as Float32Array, judged),
          `variable ${index}`,
        ).toBeLessThan(1e-4);
        if (optimizer === 'sgd' || optimizer === 'momentum') {
          // The update itself (learning rate x gradient) agrees too, not just weights that barely moved.
          const update = minus(weights, actual.initial[index] as Float32Array);
          const expectedUpdate = minus(
            expected.weights[index] as Float32Array,
            expected.initial[index] as Float32Array,
          );
          expect(normRelative(update, expectedUpdate), `update of variable ${index}`).toBeLessThan(1e-4);
        }
      });
    });
  }

  it('computes every transposed and batched product as the CPU backend does', async () => {
    const shapes: [number[], number[], boolean, boolean][] = [
      [[64, 784], [64, 512], true, false],
      [[64, 512], [784, 512], false, true],
      [[512, 64], [784, 512], true, true],
      [[3, 20, 30], [3, 30, 10], false, false],
      [[3, 30, 20], [1, 10, 30], true, true],
    ];
    const values = (shape: number[], seed: number) => tf.randomUniform(shape, -1, 1, 'float32', seed);
    const compute = () =>
      shapes.map(([a, b, transposeA, transposeB], index) =>
        tf.tidy(() => {
          const plain = tf.matMul(values(a, index), values(b, index + 100), transposeA, transposeB);
          const bias = values([plain.shape.at(-1) as number], index + 200);
          const fused = tf.fused.matMul({
            a: values(a, index),
            b: values(b, index + 100),
            transposeA,
            transposeB,
            bias,
            activation: 'relu',
          });
          return [plain.dataSync().slice(), fused.dataSync().slice()];
        }),
      );
    const fast = compute();
    await tf.setBackend('cpu');
    const cpu = compute();
    await tf.setBackend('wasm');
    fast.forEach(([plain, fused], index) => {
      const [cpuPlain, cpuFused] = cpu[index] as [Float32Array, Float32Array];
      expect(normRelative(plain as Float32Array, cpuPlain), `plain product ${index}`).toBeLessThan(1e-5);
      expect(normRelative(fused as Float32Array, cpuFused), `fused product ${index}`).toBeLessThan(1e-5);
    });
  });

  it('applies a fused bias and every fused activation as the CPU backend does', async () => {
    // Training-sized products, where the fast path computes the product swapped and then adds the bias
    // and applies the activation itself (prelu stays inside the original kernel). The wasm backend
    // accepts only rank-1 biases.
    const activations = ['linear', 'relu', 'relu6', 'sigmoid', 'elu', 'leakyrelu', 'prelu'] as const;
    const biasShapes = [[200], null];
    const values = (shape: number[], seed: number) => tf.randomUniform(shape, -2, 2, 'float32', seed);
    const compute = () =>
      activations.flatMap((activation, index) =>
        biasShapes.map((biasShape, variant) =>
          tf.tidy(() => {
            const seed = index * 10 + variant;
            return tf.fused
              .matMul({
                a: values([64, 300], seed),
                b: values([300, 200], seed + 100),
                ...(biasShape ? { bias: values(biasShape, seed + 200) } : {}),
                activation,
                ...(activation === 'prelu' ? { preluActivationWeights: values([200], seed + 300) } : {}),
                ...(activation === 'leakyrelu' ? { leakyreluAlpha: 0.1 } : {}),
              })
              .dataSync()
              .slice();
          }),
        ),
      );
    const fast = compute();
    await tf.setBackend('cpu');
    const cpu = compute();
    await tf.setBackend('wasm');
    fast.forEach((output, index) => {
      const label = `${activations[Math.floor(index / biasShapes.length)]} with bias ${JSON.stringify(biasShapes[index % biasShapes.length])}`;
      expect(normRelative(output as Float32Array, cpu[index] as Float32Array), label).toBeLessThan(1e-5);
    });
  });

  it('leaves a bias of any other shape to the original kernel, which rejects it as stock tfjs does', () => {
    // [N, 1] with M = N has N values, as a per-column bias has, but means one per row. Transposed
    // operands make the swapped product the cheaper one, where the bias would be applied separately.
    const attempt = () =>
      tf.tidy(() =>
        tf.fused
          .matMul({
            a: tf.ones([600, 200]),
            b: tf.ones([200, 600]),
            transposeA: true,
            transposeB: true,
            bias: tf.ones([200, 1]),
            activation: 'relu',
          })
          .dataSync(),
      );
    expect(attempt).toThrow(/rank-1 bias/);
  });

  it('leaks no tensors and no backend memory over many steps', () => {
    stepOnce(dataset, 'adam');
    const before = tf.memory();
    for (let index = 0; index < 20; index++) stepOnce(dataset, index % 2 ? 'sgd' : 'adam');
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect((after as { numDataBuffers?: number }).numDataBuffers).toBe(
      (before as { numDataBuffers?: number }).numDataBuffers,
    );
  });
});

/** What a check of one image layer yields: logits, every variable's gradient, the moving statistics after. */
interface LayerCheck {
  logits: Float32Array;
  gradients: Float32Array[];
  state: Float32Array[];
}

// A convolution before the layer under test, so its input gradient (Conv2DBackpropInput, pooling
// gradients) is needed for the first filter's gradient; a flatten and a dense layer after it.
function imageNetwork(layer: LayerSpec): LayerSpec[] {
  return [
    { type: 'conv2d', filters: 3, kernelSize: 3, strides: 1, padding: 'same', activation: 'relu' },
    layer,
    { type: 'flatten' },
    { type: 'dense', units: 10, activation: 'linear' },
  ];
}

const imageLayers: LayerSpec[] = [
  { type: 'conv2d', filters: 8, kernelSize: 3, strides: 1, padding: 'valid', activation: 'relu' },
  { type: 'conv2d', filters: 6, kernelSize: [5, 3], strides: 2, padding: 'same', activation: 'sigmoid' },
  { type: 'conv2d', filters: 4, kernelSize: 4, strides: [2, 3], padding: 'same', activation: 'tanh' },
  { type: 'conv2d', filters: 16, kernelSize: 1, strides: 1, padding: 'valid', activation: 'linear' },
  { type: 'conv2d', filters: 5, kernelSize: 3, strides: 3, padding: 'valid', activation: 'relu' },
  { type: 'maxPool2d', poolSize: 2, padding: 'valid' },
  { type: 'maxPool2d', poolSize: 3, strides: 2, padding: 'same' },
  { type: 'avgPool2d', poolSize: 2, padding: 'valid' },
  { type: 'avgPool2d', poolSize: [3, 2], strides: 1, padding: 'same' },
  { type: 'batchNormalization', momentum: 0.9, epsilon: 1e-5 },
  { type: 'flatten' },
];

/** Forward (training mode) and backward through `layers` on 16 MNIST images, on whichever backend is set. */
function checkLayers(dataset: Dataset, layers: LayerSpec[]): LayerCheck {
  const batch = 16;
  const inputs = dataset.train.inputs.slice(0, batch * 784);
  const model = buildModel(layers, [28, 28, 1], 3);
  try {
    return tf.tidy(() => {
      const x = tf.tensor2d(inputs, [batch, 784]);
      const y = tf.oneHot(tf.tensor1d(Array.from(dataset.train.labels.subarray(0, batch)), 'int32'), 10);
      let logits: Float32Array = new Float32Array(0);
      const { grads } = tf.variableGrads(() => {
        const output = model.logits(x, { dropoutSeed: 1 });
        logits = output.dataSync().slice() as Float32Array;
        return tf.losses.softmaxCrossEntropy(y, output);
      }, model.variables);
      return {
        logits,
        gradients: model.variables.map(
          (variable) => (grads[variable.name] as tf.Tensor).dataSync().slice() as Float32Array,
        ),
        state: model.state.map((variable) => variable.dataSync().slice() as Float32Array),
      };
    });
  } finally {
    model.dispose();
  }
}

/** The largest normRelative difference between two checks, naming where it is. */
function worstDifference(actual: LayerCheck, expected: LayerCheck): { where: string; difference: number } {
  const pairs: [string, Float32Array, Float32Array][] = [
    ['logits', actual.logits, expected.logits],
    ...actual.gradients.map((g, i): [string, Float32Array, Float32Array] => [
      `gradient ${i}`,
      g,
      expected.gradients[i] as Float32Array,
    ]),
    ...actual.state.map((s, i): [string, Float32Array, Float32Array] => [
      `state ${i}`,
      s,
      expected.state[i] as Float32Array,
    ]),
  ];
  return pairs.reduce(
    (worst, [where, a, b]) => {
      const difference = normRelative(a, b);
      return difference > worst.difference ? { where, difference } : worst;
    },
    { where: '', difference: 0 },
  );
}

describe('WebAssembly fast path on image layers', () => {
  let dataset: Dataset;
  const cpu = new Map<number, LayerCheck>();

  beforeAll(async () => {
    const mismatch = fastPathVersionMismatch(installed);
    if (mismatch !== undefined) throw new Error(mismatch);
    dataset = await loadDataset('mnist');
    await tf.setBackend('cpu');
    imageLayers.forEach((layer, index) => cpu.set(index, checkLayers(dataset, imageNetwork(layer))));
    await tf.setBackend('wasm');
    expect(installWasmFastPath(tf, version_wasm)).toBe(true);
  });
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  imageLayers.forEach((layer, index) => {
    it(`computes ${JSON.stringify(layer)}'s forward pass and gradients as the CPU backend does`, () => {
      const worst = worstDifference(checkLayers(dataset, imageNetwork(layer)), cpu.get(index) as LayerCheck);
      // Batch normalisation's gradient is the difference of two nearly equal per-channel sums, which
      // the backends add up in different orders: its rounding reaches about 1e-4 relative there.
      expect(worst.difference, worst.where).toBeLessThan(layer.type === 'batchNormalization' ? 5e-4 : 1e-4);
    });
  });

  it('has a check that catches a broken kernel: a filter gradient off in one element fails it', () => {
    const config = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    const broken: KernelFunc = (args) => {
      const dw = config.kernelFunc(args) as TensorInfo;
      const backend = args.backend as { typedArrayFromHeap(t: TensorInfo): Float32Array };
      const values = backend.typedArrayFromHeap(dw);
      values[values.length - 1] = (values[values.length - 1] as number) * 1.01;
      return dw;
    };
    tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
    tf.registerKernel({ ...config, kernelFunc: broken });
    try {
      const worst = worstDifference(
        checkLayers(dataset, imageNetwork(imageLayers[0] as LayerSpec)),
        cpu.get(0) as LayerCheck,
      );
      expect(worst.difference).toBeGreaterThan(1e-4);
    } finally {
      tf.unregisterKernel('Conv2DBackpropFilter', 'wasm');
      tf.registerKernel(config);
    }
  });

  it('leaks no tensors and no backend memory training a conv network', () => {
    const layers = imageNetwork({ type: 'maxPool2d', poolSize: 2, padding: 'valid' });
    checkLayers(dataset, layers);
    const before = tf.memory();
    for (let index = 0; index < 5; index++) checkLayers(dataset, layers);
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect((after as { numDataBuffers?: number }).numDataBuffers).toBe(
      (before as { numDataBuffers?: number }).numDataBuffers,
    );
  });
});
