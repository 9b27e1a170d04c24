import { heapProduct } from '../heap-product.js';
import type { TrainingKernels } from '../kernels/training-kernels.js';
import type { WasmBackendInternals } from '../wasm-heap.js';
import { control, stages, type HelperLink, type LayerAreas } from './helper-link.js';
import { softmaxCrossEntropyColumns } from '../softmax-cross-entropy.js';

/** A block of a [rows, columns] matrix laid out row by row in `data`, from index `at`. */
interface Block {
  data: Float32Array;
  at: number;
  columns: number;
}

/**
 * Rows [first, end) of the matrix whose columns are `left`'s then `right`'s, written to `out` from
 * `outAt` ([end - first, left.columns + right.columns]).
 */
function joinColumns(out: Float32Array, outAt: number, first: number, end: number, left: Block, right: Block): void {
  let to = outAt;
  for (let row = first; row < end; row++) {
    for (let from = left.at + row * left.columns, stop = from + left.columns; from < stop;)
      out[to++] = left.data[from++] as number;
    for (let from = right.at + row * right.columns, stop = from + right.columns; from < stop;)
      out[to++] = right.data[from++] as number;
  }
}

/** Where a step stands: its batch, this side's columns, and the progress words. */
interface StepContext {
  batch: number;
  /** This side's columns, from `first`. */
  own: number;
  first: number;
  /** Progress values of this step: base + a stage. */
  base: number;
  ownProgress: number;
  otherProgress: number;
}

/** One side's buffers for a layer (byte offsets on its heap). */
interface SideBuffers {
  /** Its columns of the activated output and of the output's gradient, [units, its columns]. */
  output: number;
  gradient: number;
}

/**
 * What both sides of a split step do: each takes its columns of the batch (the main side the
 * first half, the helper the rest) through the forward pass, the loss and the input gradients,
 * which are exact when split by columns, and computes its rows of each weight gradient from the
 * whole batch, joined from both sides' columns (exact when split by rows; a split of the batch sum
 * would not be). What differs (where the weights come from, what becomes of a weight gradient's
 * rows) is the subclass's.
 */
export abstract class SplitSide {
  private readonly allocated: number[] = [];
  private readonly shapes: number;
  /** The batch, example per row, and transposed: whole, and its own columns only. */
  protected readonly inputs: number;
  private readonly inputsT: number;
  private readonly ownInputsT: number;
  private readonly buffers: SideBuffers[];
  /** The whole batch's gradient at a layer's output, [units, batch], and transposed. */
  private readonly fullGradientT: number;
  private readonly fullGradient: number;
  /** Its rows of a layer's input, whole batch, joined for the weight gradient. */
  private readonly inputRows: number;
  private readonly stage: ReturnType<typeof stages>;
  protected readonly areas: LayerAreas[];

  constructor(
    protected readonly backend: WasmBackendInternals,
    protected readonly kernels: TrainingKernels,
    protected readonly link: HelperLink,
    private readonly isMain: boolean,
  ) {
    const { features, maxBatch } = link.shape;
    this.areas = link.layout.layers;
    this.stage = stages(this.areas.length);
    this.shapes = this.allocate(8);
    this.inputs = this.allocate(maxBatch * features);
    this.inputsT = this.allocate(maxBatch * features);
    this.ownInputsT = this.allocate(maxBatch * features);
    this.buffers = this.areas.map(({ units }) => ({
      output: this.allocate(units * maxBatch),
      gradient: this.allocate(units * maxBatch),
    }));
    const widest = Math.max(...this.areas.map((area) => area.units));
    const rows = Math.max(...this.areas.map((area) => this.rowsOf(area)[1] - this.rowsOf(area)[0]));
    this.fullGradientT = this.allocate(widest * maxBatch);
    this.fullGradient = this.allocate(widest * maxBatch);
    this.inputRows = this.allocate(rows * maxBatch);
  }

  protected allocate(floats: number): number {
    const pointer = this.backend.wasm._malloc(Math.max(1, floats) * 4) >>> 0;
    if (pointer === 0) throw new Error('out of WebAssembly memory for the split step');
    this.allocated.push(pointer);
    return pointer;
  }

  protected heap(): Float32Array {
    return this.backend.wasm.HEAPF32;
  }

  /** The rows of a layer's weight gradient this side computes. */
  protected rowsOf(area: LayerAreas): [number, number] {
    return this.isMain ? [0, area.splitRow] : [area.splitRow, area.fanIn];
  }

  protected product(a: number, dims: [number, number], b: number, columns: number, out: number): void {
    heapProduct(this.backend, this.shapes, a, dims, b, columns, out);
  }

  /** Layer l's weights [fanIn, units], their transpose and its bias, on this side's heap. */
  protected abstract weightsAt(l: number): number;
  protected abstract weightsTAt(l: number): number;
  protected abstract biasAt(l: number): number;
  /** Where this side's rows of layer l's weight gradient go. */
  protected abstract weightGradientAt(l: number): number;
  /** After its loss terms are written: the main side returns the batch's loss. */
  protected abstract afterLoss(base: number, batch: number): number | undefined;
  /** After its rows of layer l's weight gradient; `fullGradientT` is the batch's gradient at its output. */
  protected abstract afterWeightGradient(l: number, base: number, batch: number, fullGradientT: number): void;

  /** Step `seq` on a batch of `batch` already at `inputs`, with `targets` one-hot, example per row. */
  protected runStep(seq: number, batch: number, targets: Float32Array): number | undefined {
    const split = Math.ceil(batch / 2);
    const step: StepContext = {
      batch,
      own: this.isMain ? split : batch - split,
      first: this.isMain ? 0 : split,
      base: seq * this.stage.perStep,
      ownProgress: this.isMain ? control.mainProgress : control.helperProgress,
      otherProgress: this.isMain ? control.helperProgress : control.mainProgress,
    };
    this.forward(step);
    const last = this.areas.length - 1;
    const classes = (this.areas[last] as LayerAreas).units;
    const top = this.buffers[last] as SideBuffers;
    const heap = this.heap();
    softmaxCrossEntropyColumns(
      heap.subarray(top.output / 4, top.output / 4 + classes * step.own),
      targets,
      heap.subarray(top.gradient / 4, top.gradient / 4 + classes * step.own),
      this.link.terms,
      { classes, batch, first: step.first, columns: step.own },
    );
    this.link.signal(step.ownProgress, step.base + this.stage.loss);
    this.publishGradient(last, step);
    const loss = this.afterLoss(step.base, batch);
    for (let l = last; l >= 0; l--) this.backward(l, step);
    return loss;
  }

  /** Its columns through every layer, publishing each output but the last. */
  private forward(step: StepContext): void {
    const { kernels, link, areas } = this;
    const { batch, own, first } = step;
    const { features } = link.shape;
    kernels.transpose(this.inputs, this.inputsT, batch, features);
    kernels.transpose(this.inputs + first * features * 4, this.ownInputsT, own, features);
    let input = this.ownInputsT;
    areas.forEach((area, l) => {
      const { output } = this.buffers[l] as SideBuffers;
      this.product(this.weightsTAt(l), [area.units, area.fanIn], input, own, output);
      kernels.biasRows(output, this.biasAt(l), area.units, own, area.relu ? 1 : 0);
      if (l < areas.length - 1) {
        this.publish(output, area.units * own, this.isMain ? area.mainOutput : area.helperOutput);
        link.signal(step.ownProgress, step.base + this.stage.output(l));
      }
      input = output;
    });
  }

  /**
   * Layer l, its output gradient in hand: publishes it, computes its columns of the input gradient,
   * then its rows of the weight gradient from the whole batch's output gradient and input.
   */
  private backward(l: number, step: StepContext): void {
    const { kernels, link, areas, stage } = this;
    const { batch, own, base } = step;
    const area = areas[l] as LayerAreas;
    const { gradient } = this.buffers[l] as SideBuffers;
    const below = this.buffers[l - 1];
    if (below) {
      this.product(this.weightsAt(l), [area.fanIn, area.units], gradient, own, below.gradient);
      if ((areas[l - 1] as LayerAreas).relu) kernels.reluGradient(below.gradient, below.output, area.fanIn * own);
      // Out before this layer's weight gradient and update, so the other side can go on with it.
      this.publishGradient(l - 1, step);
    }
    // The whole batch's gradient at this layer's output, joined from both sides' columns.
    link.waitFor(step.otherProgress, base + stage.gradient(l));
    this.join(step, l, 'gradient', this.isMain ? area.helperGradient : area.mainGradient, this.fullGradientT, [
      0,
      area.units,
    ]);
    kernels.transpose(this.fullGradientT, this.fullGradient, area.units, batch);
    // Its rows of the layer's input over the whole batch.
    const [from, to] = this.rowsOf(area);
    let rows = this.inputsT + from * batch * 4;
    if (below) {
      const lower = areas[l - 1] as LayerAreas;
      link.waitFor(step.otherProgress, base + stage.output(l - 1));
      this.join(step, l - 1, 'output', this.isMain ? lower.helperOutput : lower.mainOutput, this.inputRows, [from, to]);
      rows = this.inputRows;
    }
    if (to > from) this.product(rows, [to - from, batch], this.fullGradient, area.units, this.weightGradientAt(l));
    this.afterWeightGradient(l, base, batch, this.fullGradientT);
  }

  /** Publishes its columns of layer l's output gradient. */
  private publishGradient(l: number, step: StepContext): void {
    const area = this.areas[l] as LayerAreas;
    const { gradient } = this.buffers[l] as SideBuffers;
    this.publish(gradient, area.units * step.own, this.isMain ? area.mainGradient : area.helperGradient);
    this.link.signal(step.ownProgress, step.base + this.stage.gradient(l));
  }

  /** Copies `count` floats from `pointer` on the heap to `area` of the link. */
  private publish(pointer: number, count: number, area: number): void {
    this.link.floats.set(this.heap().subarray(pointer / 4, pointer / 4 + count), area);
  }

  /**
   * Rows [from, to) of layer l's `kind` over the whole batch into `out` on the heap: its own columns
   * from its buffer, the other side's from `otherArea` of the link, in batch order.
   */
  private join(
    step: StepContext,
    l: number,
    kind: keyof SideBuffers,
    otherArea: number,
    out: number,
    [from, to]: [number, number],
  ): void {
    const heap = this.heap();
    const mine: Block = { data: heap, at: (this.buffers[l] as SideBuffers)[kind] / 4, columns: step.own };
    const other: Block = { data: this.link.floats, at: otherArea, columns: step.batch - step.own };
    const [left, right] = this.isMain ? [mine, other] : [other, mine];
    joinColumns(heap, out / 4, from, to, left, right);
  }

  dispose(): void {
    for (const pointer of this.allocated.splice(0)) this.backend.wasm._free(pointer);
  }
}
