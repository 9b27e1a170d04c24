/**
 * Softmax cross-entropy of a block of a batch's columns and its gradient, with the logits of examples
 * [first, first + columns) laid out a class per row (`logits[c * columns + j]`: class c of example
 * first + j) and one-hot targets of the whole batch an example per row (`targets[example * classes + c]`).
 * Writes d(mean loss)/d(logits), (softmax - target) / batch, into `gradient` in the logits' layout and
 * each term of the loss sum into `terms` ([batch, classes]), so that `sumTerms` adds them in one order
 * however the batch was split, as tfjs's softmaxCrossEntropy computes them (in double precision here,
 * rounded to float32 on the way out).
 */
export function softmaxCrossEntropyColumns(
  logits: Float32Array,
  targets: Float32Array,
  gradient: Float32Array,
  terms: Float64Array,
  block: { classes: number; batch: number; first: number; columns: number },
): void {
  const { classes, batch, first, columns } = block;
  for (let column = 0; column < columns; column++) {
    const example = first + column;
    let largest = -Infinity;
    for (let c = 0; c < classes; c++) largest = Math.max(largest, logits[c * columns + column] as number);
    let total = 0;
    for (let c = 0; c < classes; c++) total += Math.exp((logits[c * columns + column] as number) - largest);
    const logTotal = Math.log(total) + largest;
    for (let c = 0; c < classes; c++) {
      const at = c * columns + column;
      const target = targets[example * classes + c] as number;
      const logit = logits[at] as number;
      terms[example * classes + c] = target * (logTotal - logit);
      gradient[at] = (Math.exp(logit - logTotal) - target) / batch;
    }
  }
}

/** The batch's mean loss from its first `count` terms, summed in example order. */
export function sumTerms(terms: Float64Array, count: number, batch: number): number {
  let lossSum = 0;
  for (let index = 0; index < count; index++) lossSum += terms[index] as number;
  return lossSum / batch;
}

// The whole-batch function's terms, kept across steps.
let scratch = new Float64Array(0);

/** `softmaxCrossEntropyColumns` over a whole batch; returns its mean loss. */
export function softmaxCrossEntropy(
  logits: Float32Array,
  targets: Float32Array,
  gradient: Float32Array,
  classes: number,
  batch: number,
): number {
  if (scratch.length < classes * batch) scratch = new Float64Array(classes * batch);
  softmaxCrossEntropyColumns(logits, targets, gradient, scratch, { classes, batch, first: 0, columns: batch });
  return sumTerms(scratch, classes * batch, batch);
}
