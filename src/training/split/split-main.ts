import type { TrainingKernels } from '../kernels/training-kernels.js';
import type { WasmBackendInternals } from '../wasm-heap.js';
import { control, linkStates, stages, type HelperLink, type LayerAreas } from './helper-link.js';
import { AdaptiveSplit, type SplitPolicy } from './split-choice.js';
import { SplitSide } from './split-side.js';
import { sumTerms } from '../softmax-cross-entropy.js';

/** What the main side uses of the dense engine it steps for: its layers' buffers and its update. */
export interface EngineLayers {
  /** Layer l's weights and bias (the model's variables) on the heap. */
  weightsAt(l: number): number;
  biasAt(l: number): number;
  /** Layer l's weights transposed, current. */
  weightsTAt(l: number): number;
  /** Where the engine keeps layer l's weight and bias gradients. */
  weightGradientAt(l: number): number;
  biasGradientAt(l: number): number;
  /** Applies the optimizer to layer l from those gradients, as the engine's own step does. */
  update(l: number): void;
}

/**
 * The job's side of a split step: the first half of the batch's columns and the first rows of each
 * weight gradient; it takes the helper's rows, sums the loss and the bias gradients over the whole
 * batch, and updates the weights as the engine's own step does, publishing them for the helper.
 */
export class MainSplit extends SplitSide {
  /** The helper generation the weights were last published to in full. */
  private published = -1;
  /** Whether the last step was split: the helper's weights are then those of the end of that step. */
  private lastSplit = false;

  constructor(
    backend: WasmBackendInternals,
    kernels: TrainingKernels,
    link: HelperLink,
    private readonly engine: EngineLayers,
    private readonly policy: SplitPolicy = new AdaptiveSplit(),
  ) {
    super(backend, kernels, link, true);
  }

  /**
   * One step: with the helper when one is waiting and the policy wants it, else `alone` (the
   * engine's own step). Returns the batch's mean loss. The helper is held only during a step, so a
   * recall takes effect by the end of it.
   */
  step(inputs: Float32Array, targets: Float32Array, batch: number, alone: () => number): number {
    const { link } = this;
    const started = performance.now();
    const split =
      batch >= 2 &&
      link.state() === linkStates.idle &&
      this.policy.wantsSplit() &&
      link.move(linkStates.idle, linkStates.busy);
    const loss = split ? this.splitStep(inputs, targets, batch) : alone();
    this.lastSplit = split;
    // Only timed while a helper is there: alone steps then are the ones to compare with.
    if (split || link.state() === linkStates.idle) this.policy.record(split, (performance.now() - started) / batch);
    return loss;
  }

  private splitStep(inputs: Float32Array, targets: Float32Array, batch: number): number {
    const { link } = this;
    try {
      const generation = Atomics.load(link.control, control.generation);
      if (generation !== this.published || !this.lastSplit) {
        this.areas.forEach((_, l) => this.publishWeights(l));
        Atomics.add(link.control, control.weights, 1);
        this.published = generation;
      }
      const { layout } = link;
      link.floats.set(inputs, layout.inputs);
      link.floats.set(targets, layout.targets);
      this.heap().set(inputs, this.inputs / 4);
      Atomics.store(link.control, control.batch, batch);
      const seq = Atomics.load(link.control, control.go) + 1;
      link.startStep(seq);
      return this.runStep(seq, batch, targets) as number;
    } finally {
      if (!link.move(linkStates.busy, linkStates.idle)) link.move(linkStates.recalling, linkStates.none);
    }
  }

  private publishWeights(l: number): void {
    const area = this.areas[l] as LayerAreas;
    const heap = this.heap();
    const weights = this.engine.weightsAt(l) / 4;
    const bias = this.engine.biasAt(l) / 4;
    this.link.floats.set(heap.subarray(weights, weights + area.fanIn * area.units), area.weights);
    this.link.floats.set(heap.subarray(bias, bias + area.units), area.bias);
  }

  protected weightsAt(l: number): number {
    return this.engine.weightsAt(l);
  }

  protected weightsTAt(l: number): number {
    return this.engine.weightsTAt(l);
  }

  protected biasAt(l: number): number {
    return this.engine.biasAt(l);
  }

  protected weightGradientAt(l: number): number {
    return this.engine.weightGradientAt(l);
  }

  protected afterLoss(base: number, batch: number): number {
    const { link } = this;
    link.waitFor(control.helperProgress, base + stages(this.areas.length).loss);
    const classes = (this.areas.at(-1) as LayerAreas).units;
    return sumTerms(link.terms, batch * classes, batch);
  }

  protected afterWeightGradient(l: number, base: number, batch: number, fullGradientT: number): void {
    const { link, engine } = this;
    const area = this.areas[l] as LayerAreas;
    this.kernels.rowSums(fullGradientT, engine.biasGradientAt(l), area.units, batch);
    const update = base + stages(this.areas.length).update(l);
    link.waitFor(control.helperProgress, update);
    const helperRows = (area.fanIn - area.splitRow) * area.units;
    const at = engine.weightGradientAt(l) / 4 + area.splitRow * area.units;
    this.heap().set(link.floats.subarray(area.helperWeightGradient, area.helperWeightGradient + helperRows), at);
    engine.update(l);
    this.publishWeights(l);
    link.signal(control.mainProgress, update);
  }
}
