import type { StepRun } from '../../domain/metrics.js';

// A line is at most two integers of 10 digits, a loss of 24 characters, two commas and CRLF.
const maxLineBytes = 10 + 1 + 10 + 1 + 24 + 2;

/** Writes the decimal digits of a non-negative integer at `offset`; returns the offset after them. */
function writeInteger(buffer: Buffer, offset: number, value: number): number {
  if (value < 10) {
    buffer[offset] = 48 + value;
    return offset + 1;
  }
  let digits = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 10)) digits += 1;
  for (let index = offset + digits - 1, rest = value; index >= offset; index -= 1, rest = Math.floor(rest / 10)) {
    buffer[index] = 48 + (rest % 10);
  }
  return offset + digits;
}

/**
 * A loss in 17 significant digits, which read back give exactly the same double (JSON's shortest
 * form does too, at two to three times the cost: it is most of the time of a CSV export), without
 * trailing zeros.
 */
function lossText(loss: number): string {
  const text = loss.toPrecision(17);
  // "0.50000000000000000" is "0.5"; an exponent's zeros ("1.2000000000000000e-10") stay.
  return text.charCodeAt(text.length - 1) === 48 && !text.includes('e') ? text.replace(/\.?0+$/, '') : text;
}

/** One page of runs as CSV lines, written straight into bytes: no string per line, none to join. */
function pageCsv(runs: readonly StepRun[]): Buffer {
  const count = runs.reduce((total, run) => total + run.losses.length, 0);
  const buffer = Buffer.allocUnsafe(count * maxLineBytes);
  let offset = 0;
  for (const { firstStep, epoch, losses } of runs) {
    for (let index = 0; index < losses.length; index += 1) {
      offset = writeInteger(buffer, offset, firstStep + index);
      buffer[offset++] = 44;
      offset = writeInteger(buffer, offset, epoch);
      buffer[offset++] = 44;
      const loss = losses[index] as number;
      if (Number.isFinite(loss)) offset += buffer.write(lossText(loss), offset, 'latin1');
      buffer[offset++] = 13;
      buffer[offset++] = 10;
    }
  }
  return buffer.subarray(0, offset);
}

/**
 * A job's whole loss history as CSV (`step,epoch,loss`), one chunk of bytes a page of runs: built
 * from the typed arrays the store reads, with no object per step. A loss that is not finite is an
 * empty cell, as JSON writes it null.
 */
export async function* historyCsv(pages: AsyncIterable<readonly StepRun[]>): AsyncGenerator<Buffer> {
  yield Buffer.from('step,epoch,loss\r\n');
  for await (const runs of pages) {
    const page = pageCsv(runs);
    if (page.length > 0) yield page;
  }
}
