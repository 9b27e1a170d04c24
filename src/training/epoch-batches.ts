import type { DatasetSplit } from './datasets/index.js';
import type { Random } from './random.js';

/** A batch of training examples: row-major inputs and one-hot targets, views into the epoch's buffers. */
export interface Batch {
  inputs: Float32Array;
  targets: Float32Array;
}

function oneHot(labels: Uint16Array, classes: number): Float32Array {
  const encoded = new Float32Array(labels.length * classes);
  for (let index = 0; index < labels.length; index++) encoded[index * classes + (labels[index] as number)] = 1;
  return encoded;
}

/** Copies the first `order.length` examples of `split` into `order`, so batches are contiguous views. */
function permute(split: DatasetSplit, order: Uint32Array, inputs: Float32Array, labels: Uint16Array): void {
  const features = split.features;
  for (let row = 0; row < order.length; row++) {
    const source = order[row] as number;
    inputs.set(split.inputs.subarray(source * features, (source + 1) * features), row * features);
    labels[row] = split.labels[source] as number;
  }
}

/**
 * The first `count` training examples (or the examples at `indices`, when given) in one epoch's
 * shuffled order, cut into batches of `batchSize` (the last one shorter). The buffers are allocated
 * once and refilled every epoch.
 */
export class EpochBatches {
  private readonly order: Uint32Array;
  private readonly inputs: Float32Array;
  private readonly labels: Uint16Array;
  private targets: Float32Array = new Float32Array(0);

  constructor(
    private readonly split: DatasetSplit,
    private readonly count: number,
    private readonly classes: number,
    private readonly batchSize: number,
    private readonly indices?: Uint32Array,
  ) {
    this.order = new Uint32Array(count);
    this.inputs = new Float32Array(count * split.features);
    this.labels = new Uint16Array(count);
  }

  /** Draws this epoch's order from `random` and copies the examples into it. */
  shuffle(random: Random): void {
    const { indices } = this;
    for (let index = 0; index < this.count; index++) this.order[index] = indices ? (indices[index] as number) : index;
    random.shuffle(this.order);
    permute(this.split, this.order, this.inputs, this.labels);
    this.targets = oneHot(this.labels, this.classes);
  }

  /** The `index`th batch of the current order (0-based). */
  batch(index: number): Batch {
    const { features } = this.split;
    const start = index * this.batchSize;
    const end = start + Math.min(this.batchSize, this.count - start);
    return {
      inputs: this.inputs.subarray(start * features, end * features),
      targets: this.targets.subarray(start * this.classes, end * this.classes),
    };
  }
}
