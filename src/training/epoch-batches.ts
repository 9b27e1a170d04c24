import type { DatasetSplit } from '../datasets/loading/index.js';
import type { Random } from './random.js';

/** A batch of training examples: row-major inputs and one-hot targets, valid until the next batch is taken. */
export interface Batch {
  inputs: Float32Array;
  targets: Float32Array;
}

/**
 * The first `count` training examples (or the examples at `indices`, when given) in one epoch's
 * shuffled order, cut into batches of `batchSize` (the last one shorter). Each batch is gathered from
 * the split into one buffer kept across batches, rather than the whole split copied in order every
 * epoch: a job holds one batch beside the shared dataset, not a second copy of it.
 */
export class EpochBatches {
  private readonly order: Uint32Array;
  private readonly inputs: Float32Array;
  private readonly targets: Float32Array;

  constructor(
    private readonly split: DatasetSplit,
    private readonly count: number,
    private readonly classes: number,
    private readonly batchSize: number,
    private readonly indices?: Uint32Array,
  ) {
    this.order = new Uint32Array(count);
    const rows = Math.min(batchSize, count);
    this.inputs = new Float32Array(rows * split.features);
    this.targets = new Float32Array(rows * classes);
  }

  /** Draws this epoch's order from `random`. */
  shuffle(random: Random): void {
    const { indices } = this;
    for (let index = 0; index < this.count; index++) this.order[index] = indices ? (indices[index] as number) : index;
    random.shuffle(this.order);
  }

  /** The `index`th batch of the current order (0-based). */
  batch(index: number): Batch {
    const { features, inputs: source, labels } = this.split;
    const { classes } = this;
    const start = index * this.batchSize;
    const rows = Math.min(this.batchSize, this.count - start);
    this.targets.fill(0, 0, rows * classes);
    for (let row = 0; row < rows; row++) {
      const example = this.order[start + row] as number;
      this.inputs.set(source.subarray(example * features, (example + 1) * features), row * features);
      this.targets[row * classes + (labels[example] as number)] = 1;
    }
    return { inputs: this.inputs.subarray(0, rows * features), targets: this.targets.subarray(0, rows * classes) };
  }
}
