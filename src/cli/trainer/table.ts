import Table from 'cli-table3';
import type { Output } from './output.js';

/** A table of rows under `head`, with colours only when the output has them. */
export function table(output: Output, head: string[], rows: (string | number)[][]): string {
  const coloured = output.style.bold('x') !== 'x';
  const drawn = new Table({
    head,
    // No line between rows: a run a line, as in `ls -l`.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    style: { head: coloured ? ['cyan'] : [], border: coloured ? ['grey'] : [] },
  });
  drawn.push(...rows.map((row) => row.map(String)));
  return drawn.toString();
}
