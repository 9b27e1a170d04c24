import * as tf from '@tensorflow/tfjs';
import type { OptimizerName } from '../domain/job-spec.js';
import type { TrainingKernels } from './kernels/training-kernels.js';
import { heapOffset, type WasmBackendInternals } from './wasm-heap.js';

/** A checkpointable tensor, named as tfjs's optimizers name their slots (`dense0/kernel/m`). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

// tfjs's defaults: Adam's betas, RMSProp's decay and momentum, and the wasm backend's epsilon.
const beta1 = Math.fround(0.9);
const beta2 = Math.fround(0.999);
const rmsDecay = 0.9;
const rmsMomentum = 0;
const epsilon = 1e-7;

/** The slots each optimizer keeps per variable, by their name suffix, in tfjs's order. */
const slotNames: Record<OptimizerName, string[]> = {
  sgd: [],
  momentum: ['momentum'],
  adam: ['m', 'v'],
  rmsprop: ['rms', 'momentum'],
};

/** float32 beta^(steps + 1) as `steps` float32 multiplications make it, one per step, as tfjs's Adam does. */
export function stepwisePower(beta: number, steps: number): number {
  const factor = Math.fround(beta);
  let power = factor;
  // A product of two float32 values is exact in a double, so fround rounds it as float32 hardware does.
  for (let step = 0; step < steps; step++) power = Math.fround(power * factor);
  return power;
}

/** beta1^(t + 1) and beta2^(t + 1) at t = `iterations`, and Adam's bias corrections from them. */
export interface AdamPowers {
  iterations: number;
  beta1: number;
  beta2: number;
  c1: number;
  c2: number;
}

/**
 * Adam's powers at `iterations`. tfjs divides by 1 - beta^t, beta^t kept in float32 and multiplied
 * by beta every step: from the previous step's powers that is one float32 multiplication each (the
 * same values as `stepwisePower`'s loop, which would otherwise run for every variable of every step,
 * n^2 work over a run of n steps); from anything else (a restore) they are worked out afresh.
 */
export function adamPowers(iterations: number, previous?: AdamPowers): AdamPowers {
  if (previous?.iterations === iterations) return previous;
  const carried = previous?.iterations === iterations - 1 ? previous : undefined;
  const power1 = carried ? Math.fround(carried.beta1 * beta1) : stepwisePower(beta1, iterations);
  const power2 = carried ? Math.fround(carried.beta2 * beta2) : stepwisePower(beta2, iterations);
  return {
    iterations,
    beta1: power1,
    beta2: power2,
    c1: Math.fround(1 / Math.fround(1 - power1)),
    c2: Math.fround(1 / Math.fround(1 - power2)),
  };
}

/**
 * SGD, momentum, Adam and RMSProp as tfjs computes them, each variable's update one pass of a
 * WebAssembly SIMD kernel over its weights, gradient and slots (where tfjs runs up to a dozen
 * kernels). Its checkpoint state (`getWeights`) is tfjs's: the same names, order and iteration count.
 */
export class FusedOptimizer {
  /** Steps applied. */
  iterations = 0;
  /** Per variable (by its index in the model), its slots in `slotNames` order. */
  private slots: tf.Variable[][] = [];
  private names: string[] = [];
  private powers: AdamPowers | undefined;

  constructor(
    readonly name: OptimizerName,
    readonly learningRate: number,
    private readonly kernels: TrainingKernels,
    private readonly backend: WasmBackendInternals,
  ) {}

  /** Variable `index`'s slots, made (as zeros) by `prepare` or on its first update. */
  private slotsOf(index: number, variable: tf.Variable): tf.Variable[] {
    let slots = this.slots[index];
    if (!slots) {
      slots = slotNames[this.name].map(() => tf.tidy(() => tf.zeros(variable.shape).variable(false)));
      this.slots[index] = slots;
      this.names[index] = variable.name;
    }
    return slots;
  }

  /**
   * Makes every variable's slots now, as part of setting training up: made on the first update
   * instead (as tfjs does), the deep exercise network's Adam moments (12 MB of zeros) made that step
   * take 30-70 ms more than the next ones. A restore (`setWeights`) replaces them.
   */
  prepare(variables: readonly tf.Variable[]): void {
    variables.forEach((variable, index) => this.slotsOf(index, variable));
  }

  /**
   * Updates variable `index` (`variable`, `size` values) from its gradient: reads the weights at
   * `weights`, writes the new ones at `out` (which may be `weights`) and its slots in place; all
   * three are byte offsets on the wasm heap. Call `finishStep` once every variable is updated.
   */
  updateAt(index: number, variable: tf.Variable, weights: number, gradient: number, out: number): void {
    const slots = this.slotsOf(index, variable).map((slot) => heapOffset(this.backend, slot));
    const { kernels } = this;
    const n = variable.size;
    const negLr = -this.learningRate;
    const [first = 0, second = 0] = slots;
    switch (this.name) {
      case 'sgd':
        return kernels.sgd(weights, gradient, out, n, negLr);
      case 'momentum':
        return kernels.momentum(weights, gradient, first, out, n, negLr, 0.9);
      case 'adam': {
        const { c1, c2 } = this.adamCorrections();
        return kernels.adam(weights, gradient, first, second, out, n, negLr, beta1, beta2, c1, c2, epsilon);
      }
      case 'rmsprop':
        return kernels.rmsprop(
          weights,
          gradient,
          first,
          second,
          out,
          n,
          this.learningRate,
          rmsDecay,
          rmsMomentum,
          epsilon,
        );
    }
  }

  private adamCorrections(): AdamPowers {
    this.powers = adamPowers(this.iterations, this.powers);
    return this.powers;
  }

  finishStep(): void {
    this.iterations += 1;
  }

  /**
   * One step over `variables` with their `gradients` (tensors on the wasm backend), each variable
   * given new memory as tfjs's optimizers do (so nothing cached for its old values is used again).
   */
  applyGradients(variables: readonly tf.Variable[], gradients: readonly tf.Tensor[]): void {
    variables.forEach((variable, index) => {
      const gradient = gradients[index];
      if (!gradient) return;
      const out = this.backend.makeOutput([...variable.shape], 'float32');
      const updated = tf.engine().makeTensorFromTensorInfo(out);
      this.updateAt(
        index,
        variable,
        heapOffset(this.backend, variable),
        heapOffset(this.backend, gradient),
        heapOffset(this.backend, updated),
      );
      variable.assign(updated);
      updated.dispose();
    });
    this.finishStep();
  }

  /** tfjs's checkpoint form: the iteration count, then every variable's first slots, then its second ones. */
  // eslint-disable-next-line @typescript-eslint/require-await -- tfjs's Optimizer.getWeights is async
  async getWeights(): Promise<NamedTensor[]> {
    const kinds = slotNames[this.name];
    return [
      { name: 'iter', tensor: tf.scalar(this.iterations, 'int32') },
      ...kinds.flatMap((suffix, kind) =>
        this.slots.map((slots, index) => ({
          name: `${this.names[index] ?? ''}/${suffix}`,
          tensor: slots[kind] as tf.Tensor,
        })),
      ),
    ];
  }

  /** Restores what `getWeights` gave, in the same order, for the model's variables in order. */
  async setWeights(weights: NamedTensor[]): Promise<void> {
    const [iterations, ...slotValues] = weights;
    this.iterations = iterations ? ((await iterations.tensor.data())[0] ?? 0) : 0;
    this.disposeSlots();
    const kinds = slotNames[this.name].length;
    const perKind = kinds === 0 ? 0 : slotValues.length / kinds;
    for (let index = 0; index < perKind; index++) {
      this.slots[index] = Array.from({ length: kinds }, (_, kind) => {
        // A copy of its own: the slot is written in place, and the caller frees what it handed in.
        const { tensor } = slotValues[kind * perKind + index] as NamedTensor;
        return tf.tidy(() => tf.tensor(tensor.dataSync(), tensor.shape, 'float32').variable(false));
      });
      this.names[index] = (slotValues[index] as NamedTensor).name.replace(/\/[^/]+$/, '');
    }
  }

  private disposeSlots(): void {
    for (const slots of this.slots) for (const slot of slots) slot.dispose();
    this.slots = [];
    this.names = [];
  }

  dispose(): void {
    this.disposeSlots();
  }
}
