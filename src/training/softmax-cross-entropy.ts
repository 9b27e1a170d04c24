/**
 * Softmax cross-entropy of a batch and its gradient, with the logits laid out a class per row
 * (`logits[c * batch + j]`: class c of example j) and one-hot targets an example per row
 * (`targets[j * classes + c]`). Writes d(mean loss)/d(logits), (softmax - target) / batch, into
 * `gradient` in the logits' layout and returns the mean loss, as tfjs's softmaxCrossEntropy computes
 * them (in double precision here, rounded to float32 on the way out).
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  targets: Float32Array,
  gradient: Float32Array,
  classes: number,
  batch: number,
): number {
  let lossSum = 0;
  for (let example = 0; example < batch; example++) {
    let largest = -Infinity;
    for (let c = 0; c < classes; c++) largest = Math.max(largest, logits[c * batch + example] as number);
    let total = 0;
    for (let c = 0; c < classes; c++) total += Math.exp((logits[c * batch + example] as number) - largest);
    const logTotal = Math.log(total) + largest;
    for (let c = 0; c < classes; c++) {
      const at = c * batch + example;
      const target = targets[example * classes + c] as number;
      const logit = logits[at] as number;
      lossSum += target * (logTotal - logit);
      gradient[at] = (Math.exp(logit - logTotal) - target) / batch;
    }
  }
  return lossSum / batch;
}
