/**
 * softmaxCrossEntropy (../softmax-cross-entropy.ts) on a block of a batch's columns, with the same
 * arithmetic: the logits of examples [first, first + columns) laid out [classes, columns], one-hot
 * targets of the whole batch an example per row. Writes the gradient of those columns (divided by
 * the whole batch's size) and each term of the loss sum into `terms` ([batch, classes], float64), so
 * that `sumTerms` over both blocks adds them in the order the whole-batch function does.
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

/** The batch's mean loss from its `count` terms, summed in example order as the whole-batch function does. */
export function sumTerms(terms: Float64Array, count: number, batch: number): number {
  let lossSum = 0;
  for (let index = 0; index < count; index++) lossSum += terms[index] as number;
  return lossSum / batch;
}
