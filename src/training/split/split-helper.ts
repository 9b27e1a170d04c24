import type { TrainingKernels } from '../kernels/training-kernels.js';
import type { WasmBackendInternals } from '../wasm-heap.js';
import { control, linkStates, spinUntil, stages, type HelperLink, type LayerAreas } from './helper-link.js';
import { SplitSide } from './split-side.js';

/**
 * The helper's side of a split step, on an idle thread of the pool: the second half of the batch's
 * columns and the last rows of each weight gradient, which it publishes. It keeps no state of the
 * job's: before each step it copies the weights the main side published.
 */
export class HelperSplit extends SplitSide {
  private readonly weights: number[];
  private readonly weightsT: number[];
  private readonly biases: number[];
  private readonly weightGradients: number[];

  constructor(backend: WasmBackendInternals, kernels: TrainingKernels, link: HelperLink) {
    super(backend, kernels, link, false);
    this.weights = this.areas.map((area) => this.allocate(area.fanIn * area.units));
    this.weightsT = this.areas.map((area) => this.allocate(area.fanIn * area.units));
    this.biases = this.areas.map((area) => this.allocate(area.units));
    this.weightGradients = this.areas.map((area) => this.allocate((area.fanIn - area.splitRow) * area.units));
  }

  /**
   * Helps with the job's steps until the pool recalls it or the job ends. Blocks its thread the
   * whole time (it has nothing else to do), waking only for steps.
   */
  run(): void {
    const { link } = this;
    // Read before arriving: the first step the main side can start with this helper comes after.
    let seen = Atomics.load(link.control, control.go);
    Atomics.add(link.control, control.generation, 1);
    if (!link.move(linkStates.lent, linkStates.idle)) return;
    for (;;) {
      const wake = Atomics.load(link.control, control.wake);
      const go = Atomics.load(link.control, control.go);
      if (go > seen) {
        seen = go;
        this.step(go);
        continue;
      }
      const state = link.state();
      if (state !== linkStates.idle && state !== linkStates.busy && state !== linkStates.recalling) return;
      // The next split step usually follows at once: spin a little before sleeping.
      if (!spinUntil(() => Atomics.load(link.control, control.wake) !== wake))
        Atomics.wait(link.control, control.wake, wake);
    }
  }

  /** The main side's publication of all the weights its copy was last made from in full. */
  private version = -1;

  private step(seq: number): void {
    const { link, areas } = this;
    const { layout, shape } = link;
    const batch = Atomics.load(link.control, control.batch);
    // Published in full before its first step and after steps the main side made alone; else copied
    // at the end of the step before.
    const version = Atomics.load(link.control, control.weights);
    if (version !== this.version) areas.forEach((_, l) => this.copyWeights(l));
    this.version = version;
    this.heap().set(link.floats.subarray(layout.inputs, layout.inputs + batch * shape.features), this.inputs / 4);
    const classes = (areas.at(-1) as LayerAreas).units;
    const targets = link.floats.subarray(layout.targets, layout.targets + batch * classes);
    this.runStep(seq, batch, targets);
    // The next step's weights, layer by layer as the main side updates them (top first), while it
    // finishes the step.
    const stage = stages(areas.length);
    for (let l = areas.length - 1; l >= 0; l--) {
      link.waitFor(control.mainProgress, seq * stage.perStep + stage.update(l));
      this.copyWeights(l);
    }
  }

  private copyWeights(l: number): void {
    const { link } = this;
    const area = this.areas[l] as LayerAreas;
    const heap = this.heap();
    const size = area.fanIn * area.units;
    heap.set(link.floats.subarray(area.weights, area.weights + size), (this.weights[l] as number) / 4);
    heap.set(link.floats.subarray(area.bias, area.bias + area.units), (this.biases[l] as number) / 4);
    this.kernels.transpose(this.weights[l] as number, this.weightsT[l] as number, area.fanIn, area.units);
  }

  protected weightsAt(l: number): number {
    return this.weights[l] as number;
  }

  protected weightsTAt(l: number): number {
    return this.weightsT[l] as number;
  }

  protected biasAt(l: number): number {
    return this.biases[l] as number;
  }

  protected weightGradientAt(l: number): number {
    return this.weightGradients[l] as number;
  }

  protected afterLoss(): undefined {
    return undefined;
  }

  protected afterWeightGradient(l: number, base: number): void {
    const area = this.areas[l] as LayerAreas;
    const count = (area.fanIn - area.splitRow) * area.units;
    const from = (this.weightGradients[l] as number) / 4;
    this.link.floats.set(this.heap().subarray(from, from + count), area.helperWeightGradient);
    this.link.signal(control.helperProgress, base + stages(this.areas.length).update(l));
  }
}
