import type * as tf from '@tensorflow/tfjs';
import type { LayerSpec } from '../domain/job-spec.js';
import { FusedOptimizer } from './fused-optimizer.js';
import { trainingKernels, type TrainingKernels } from './kernels/training-kernels.js';
import { heapProduct } from './heap-product.js';
import type { Model } from './model.js';
import { softmaxCrossEntropy } from './softmax-cross-entropy.js';
import type { TrainingOptimizer } from './optimizer.js';
import type { HelperLink } from './split/helper-link.js';
import type { SplitPolicy } from './split/split-choice.js';
import { MainSplit } from './split/split-main.js';
import { heapOffset, renewId, wasmBackend, type WasmBackendInternals } from './wasm-heap.js';

/**
 * A training step of a network of dense layers (ReLU or linear) on the WebAssembly fast path, done
 * by hand on the wasm heap instead of through tfjs's tape: its buffers live across steps, every
 * matrix product is one XNNPACK call, and everything else is a SIMD kernel (bias and ReLU, their
 * gradients, transposes, the fused optimizer) or, for the loss, a few hundred numbers in JavaScript.
 *
 * Activations and their gradients are kept a feature per row ([features, batch]), so that the
 * operand XNNPACK packs on every call (its `b`) is always a batch-sized one, never the weights:
 *   forward          Z^T [out, b] = W^T [out, in] . X^T [in, b]    (W^T transposed from W each step)
 *   weight gradient  dW [in, out] = X^T [in, b] . dZ [b, out]     (dZ transposed from dZ^T)
 *   input gradient   dX^T [in, b] = W [in, out] . dZ^T [out, b]
 * The weights are the model's own variables, updated in place, so the model is always current.
 *
 * Given a helper link (`useHelper`), a step for which the pool has lent the job an idle thread is
 * split between this thread and that one (src/training/split), with the same result to the bit.
 */
export class DenseEngine {
  private readonly buffers: number[] = [];
  private readonly shapes: number;
  /** The batch-major input and its transpose. */
  private readonly inputs: number;
  private readonly inputsT: number;
  private readonly layers: DenseBuffers[];
  private split: MainSplit | undefined;

  private constructor(
    private readonly backend: WasmBackendInternals,
    private readonly kernels: TrainingKernels,
    private readonly model: Model,
    private readonly optimizer: FusedOptimizer,
    specs: readonly { units: number; relu: boolean }[],
    private readonly maxBatch: number,
  ) {
    this.shapes = this.allocate(8);
    const features = model.inputFeatures;
    this.inputs = this.allocate(maxBatch * features);
    this.inputsT = this.allocate(maxBatch * features);
    let fanIn = features;
    this.layers = specs.map(({ units, relu }, index) => {
      const layer = {
        index,
        fanIn,
        units,
        relu,
        weightsT: this.allocate(fanIn * units),
        outputT: this.allocate(units * maxBatch),
        gradientT: this.allocate(units * maxBatch),
        gradient: this.allocate(units * maxBatch),
        weightGradient: this.allocate(fanIn * units),
        biasGradient: this.allocate(units),
      };
      fanIn = units;
      return layer;
    });
  }

  /**
   * An engine for `model` when it can train it: its layers are all dense with ReLU or linear
   * activations, the backend is wasm and `optimizer` is the fused one. Otherwise undefined.
   */
  static for(
    layers: readonly LayerSpec[],
    model: Model,
    optimizer: TrainingOptimizer,
    maxBatch: number,
  ): DenseEngine | undefined {
    const backend = wasmBackend();
    const kernels = trainingKernels();
    if (!backend || !kernels || !(optimizer instanceof FusedOptimizer)) return undefined;
    const specs: { units: number; relu: boolean }[] = [];
    for (const layer of layers) {
      if (layer.type !== 'dense' || (layer.activation !== 'relu' && layer.activation !== 'linear')) return undefined;
      specs.push({ units: layer.units, relu: layer.activation === 'relu' });
    }
    if (model.variables.length !== 2 * specs.length) return undefined;
    return new DenseEngine(backend, kernels, model, optimizer, specs, maxBatch);
  }

  private allocate(floats: number): number {
    const pointer = this.backend.wasm._malloc(floats * 4) >>> 0;
    if (pointer === 0) throw new Error('out of WebAssembly memory for the training buffers');
    this.buffers.push(pointer);
    return pointer;
  }

  /** One optimizer step on a batch (row-major inputs, one-hot targets); returns the batch's mean loss. */
  step(inputs: Float32Array, targets: Float32Array): number {
    const batch = inputs.length / this.model.inputFeatures;
    if (batch > this.maxBatch) throw new Error(`a batch of ${batch} is larger than the engine's ${this.maxBatch}`);
    const loss = this.split
      ? this.split.step(inputs, targets, batch, () => this.stepAlone(inputs, targets, batch))
      : this.stepAlone(inputs, targets, batch);
    this.optimizer.finishStep();
    return loss;
  }

  private stepAlone(inputs: Float32Array, targets: Float32Array, batch: number): number {
    const heap = () => this.backend.wasm.HEAPF32;
    heap().set(inputs, this.inputs / 4);
    this.kernels.transpose(this.inputs, this.inputsT, batch, this.model.inputFeatures);
    this.forward(batch);
    const last = this.layers[this.layers.length - 1] as DenseBuffers;
    const classes = last.units;
    const loss = softmaxCrossEntropy(
      heap().subarray(last.outputT / 4, last.outputT / 4 + classes * batch),
      targets,
      heap().subarray(last.gradientT / 4, last.gradientT / 4 + classes * batch),
      classes,
      batch,
    );
    for (let index = this.layers.length - 1; index >= 0; index--)
      this.backward(this.layers[index] as DenseBuffers, batch);
    return loss;
  }

  private weightsOf(layer: DenseBuffers): { weights: tf.Variable; bias: tf.Variable } {
    const variables = this.model.variables;
    return {
      weights: variables[2 * layer.index] as tf.Variable,
      bias: variables[2 * layer.index + 1] as tf.Variable,
    };
  }

  private forward(batch: number): void {
    let input = this.inputsT;
    for (const layer of this.layers) {
      const { weights, bias } = this.weightsOf(layer);
      // Transposed after each update; again here only when the weights were replaced (a restore).
      if (layer.transposed !== weights.dataId) this.transposeWeights(layer, weights);
      this.product(layer.weightsT, [layer.units, layer.fanIn], input, batch, layer.outputT);
      this.kernels.biasRows(layer.outputT, heapOffset(this.backend, bias), layer.units, batch, layer.relu ? 1 : 0);
      input = layer.outputT;
    }
  }

  /** Gradients of `layer` from its output's (in gradientT), the input's gradient, and its update. */
  private backward(layer: DenseBuffers, batch: number): void {
    const { kernels } = this;
    const { weights } = this.weightsOf(layer);
    const below = this.layers[layer.index - 1];
    const input = below ? below.outputT : this.inputsT;
    kernels.rowSums(layer.gradientT, layer.biasGradient, layer.units, batch);
    kernels.transpose(layer.gradientT, layer.gradient, layer.units, batch);
    this.product(input, [layer.fanIn, batch], layer.gradient, layer.units, layer.weightGradient);
    const weightsAt = heapOffset(this.backend, weights);
    if (below) {
      this.product(weightsAt, [layer.fanIn, layer.units], layer.gradientT, batch, below.gradientT);
      if (below.relu) kernels.reluGradient(below.gradientT, below.outputT, below.units * batch);
    }
    // The weights are not read again this step: update them now, while the gradient is in cache.
    this.update(layer);
  }

  /** Applies the optimizer to `layer` from its weight and bias gradients. */
  private update(layer: DenseBuffers): void {
    const { weights, bias } = this.weightsOf(layer);
    const weightsAt = heapOffset(this.backend, weights);
    const biasAt = heapOffset(this.backend, bias);
    this.optimizer.updateAt(2 * layer.index, weights, weightsAt, layer.weightGradient, weightsAt);
    this.optimizer.updateAt(2 * layer.index + 1, bias, biasAt, layer.biasGradient, biasAt);
    // Products cached by tfjs for the old values (the test pass's) must not be used again.
    renewId(this.backend, weights);
    renewId(this.backend, bias);
    // For the next forward pass, while the new weights are still in cache.
    this.transposeWeights(layer, weights);
  }

  /**
   * Splits each step with a helper thread whenever one waits on `link` (made for this network and
   * batch size); steps alone otherwise.
   */
  useHelper(link: HelperLink, policy?: SplitPolicy): void {
    const layer = (l: number) => this.layers[l] as DenseBuffers;
    this.split?.dispose();
    this.split = new MainSplit(
      this.backend,
      this.kernels,
      link,
      {
        weightsAt: (l) => heapOffset(this.backend, this.weightsOf(layer(l)).weights),
        biasAt: (l) => heapOffset(this.backend, this.weightsOf(layer(l)).bias),
        weightsTAt: (l) => {
          const weights = this.weightsOf(layer(l)).weights;
          if (layer(l).transposed !== weights.dataId) this.transposeWeights(layer(l), weights);
          return layer(l).weightsT;
        },
        weightGradientAt: (l) => layer(l).weightGradient,
        biasGradientAt: (l) => layer(l).biasGradient,
        update: (l) => this.update(layer(l)),
      },
      policy,
    );
  }

  private transposeWeights(layer: DenseBuffers, weights: tf.Variable): void {
    this.kernels.transpose(heapOffset(this.backend, weights), layer.weightsT, layer.fanIn, layer.units);
    layer.transposed = weights.dataId;
  }

  private product(a: number, dims: [number, number], b: number, columns: number, out: number): void {
    heapProduct(this.backend, this.shapes, a, dims, b, columns, out);
  }

  /** Frees the buffers (the model and optimizer stay the caller's). */
  dispose(): void {
    this.split?.dispose();
    this.split = undefined;
    for (const pointer of this.buffers.splice(0)) this.backend.wasm._free(pointer);
  }
}

/** One layer's buffers on the heap (byte offsets), sized for the largest batch. */
interface DenseBuffers {
  index: number;
  fanIn: number;
  units: number;
  relu: boolean;
  /** W^T [units, fanIn], transposed from the weights after every update. */
  weightsT: number;
  /** The weights' data W^T was last transposed from: another means they were replaced since. */
  transposed?: object;
  /** The layer's output, activated, [units, batch]. */
  outputT: number;
  /** d(loss)/d(pre-activation output), [units, batch], and the same transposed, [batch, units]. */
  gradientT: number;
  gradient: number;
  weightGradient: number;
  biasGradient: number;
}
