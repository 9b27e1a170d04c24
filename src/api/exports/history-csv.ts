import type { StepRun } from '../../domain/metrics.js';

/**
 * A job's whole loss history as CSV (`step,epoch,loss`), one string a page of runs: built from
 * the typed arrays the store reads, with no object per step. A loss that is not finite is an empty
 * cell, as JSON writes it null.
 */
export async function* historyCsv(pages: AsyncIterable<readonly StepRun[]>): AsyncGenerator<string> {
  yield 'step,epoch,loss\r\n';
  for await (const runs of pages) {
    let text = '';
    for (const { firstStep, epoch, losses } of runs) {
      const tail = `,${epoch},`;
      for (let index = 0; index < losses.length; index += 1) {
        const loss = losses[index] as number;
        text += `${firstStep + index}${tail}${Number.isFinite(loss) ? loss : ''}\r\n`;
      }
    }
    if (text !== '') yield text;
  }
}
