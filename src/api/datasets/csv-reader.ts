import { classLimits } from '../../domain/datasets.js';
import type { ReadLimits } from './idx-reader.js';
import { UploadProblem, type SpoolWriter } from './spool.js';

export interface CsvOptions {
  /** The label column: a 0-based index or a header name. */
  labelColumn: number | string;
  /** Whether the first row names the columns; `auto`: it does when one of its cells is not a number. */
  header: 'auto' | 'yes' | 'no';
}

/** What the first file established and the second must match. */
export interface CsvColumns {
  columns: number;
  /** 0-based. */
  labelIndex: number;
}

export interface CsvSplit extends CsvColumns {
  count: number;
  features: number;
  maxLabel: number;
}

const longestLine = 16 * 1024 * 1024;
const numberPattern = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
const nonFinitePattern = /^\s*[-+]?(nan|inf|infinity)\s*$/i;

function unquote(cell: string): string {
  const trimmed = cell.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : cell;
}

/** Lines of `content` without their line ends, with 1-based numbers; blank lines are skipped. */
async function* linesOf(
  content: AsyncIterable<Buffer>,
  field: string,
): AsyncGenerator<{ text: string; number: number }> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let number = 0;
  const take = (tail: Buffer): string => {
    const line = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    pending = [];
    pendingBytes = 0;
    number++;
    const text = line.toString('utf8');
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  };
  for await (const piece of content) {
    let start = 0;
    for (let end = piece.indexOf(0x0a, start); end !== -1; end = piece.indexOf(0x0a, start)) {
      const text = take(piece.subarray(start, end));
      if (text.trim() !== '') yield { text, number };
      start = end + 1;
    }
    if (start < piece.length) {
      pending.push(piece.subarray(start));
      pendingBytes += piece.length - start;
      if (pendingBytes > longestLine)
        throw new UploadProblem(field, `line ${number + 1}: longer than ${longestLine} bytes`);
    }
  }
  if (pendingBytes > 0) {
    const text = take(Buffer.alloc(0));
    if (text.trim() !== '') yield { text, number };
  }
}

function isHeader(cells: readonly string[], options: CsvOptions): boolean {
  if (options.header !== 'auto') return options.header === 'yes';
  return cells.some((cell) => !numberPattern.test(unquote(cell)));
}

/** The 0-based label column, from the header's names (null without a header) or the index given. */
function labelIndexOf(
  names: readonly string[] | null,
  columns: number,
  options: CsvOptions,
  field: string,
  line: number,
): number {
  const { labelColumn } = options;
  if (typeof labelColumn === 'number') {
    if (labelColumn >= columns) {
      throw new UploadProblem(
        field,
        `line ${line}: there is no column ${labelColumn} (0-based) for the label; rows have ${columns} columns`,
      );
    }
    return labelColumn;
  }
  if (!names)
    throw new UploadProblem(
      field,
      `line ${line}: the label column is named "${labelColumn}", but the file has no header row`,
    );
  const index = names.indexOf(labelColumn);
  if (index < 0) {
    const shown = `${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}`;
    throw new UploadProblem(field, `line ${line}: no column is called "${labelColumn}" (the header has ${shown})`);
  }
  return index;
}

/** The first row: whether it is a header, and the columns it sets (which must match the train file's). */
function firstRow(cells: readonly string[], options: CsvOptions, field: string, line: number, train?: CsvColumns) {
  const header = isHeader(cells, options);
  const names = header ? cells.map((cell) => unquote(cell).trim()) : null;
  const labelIndex = labelIndexOf(names, cells.length, options, field, line);
  if (train && cells.length !== train.columns) {
    throw new UploadProblem(field, `line ${line}: ${cells.length} columns, but the train file has ${train.columns}`);
  }
  return { header, layout: { columns: cells.length, labelIndex } };
}

const largestFloat32 = 3.4028234663852886e38;

function cellValue(cell: string, field: string, line: number, column: number): number {
  const text = cell.charCodeAt(0) === 34 ? unquote(cell) : cell;
  if (!numberPattern.test(text)) {
    if (nonFinitePattern.test(text))
      throw new UploadProblem(
        field,
        `line ${line}, column ${column}: ${text.trim()} is not allowed; every value must be a finite number`,
      );
    const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
    throw new UploadProblem(field, `line ${line}, column ${column}: ${JSON.stringify(shown)} is not a number`);
  }
  const value = Number(text);
  if (!(Math.abs(value) <= largestFloat32))
    throw new UploadProblem(field, `line ${line}, column ${column}: ${text.trim()} is too large for a 32-bit float`);
  return value;
}

interface Sinks {
  features: SpoolWriter;
  labels: SpoolWriter;
}

/**
 * Reads a CSV file (one example per row, a label column, numeric features), writing features as
 * float32 LE and labels as uint16 LE. `columns`, from the train file, is what the test file must match.
 */
// eslint-disable-next-line max-lines-per-function -- one pass over rows with its bookkeeping; split, it would scatter the positions it reports
export async function readCsv(
  content: AsyncIterable<Buffer>,
  field: string,
  sinks: Sinks,
  options: CsvOptions,
  limits: ReadLimits,
  columns?: CsvColumns,
): Promise<CsvSplit> {
  const bound = limits.numClasses ?? classLimits.max;
  let layout: CsvColumns | undefined;
  let firstLine = 0;
  let count = 0;
  let maxLabel = 0;
  for await (const { text, number } of linesOf(content, field)) {
    const cells = text.split(',');
    if (!layout) {
      firstLine = number;
      const row = firstRow(cells, options, field, number, columns);
      layout = row.layout;
      if (row.header) continue;
    }
    const expected = layout;
    if (cells.length !== expected.columns) {
      throw new UploadProblem(
        field,
        `line ${number}: ${cells.length} columns, but line ${firstLine} has ${expected.columns}`,
      );
    }
    count++;
    if (count > limits.maxExamples)
      throw new UploadProblem(
        field,
        `line ${number}: more than ${limits.maxExamples} examples; a dataset may have at most that many (DATASET_MAX_EXAMPLES)`,
      );
    const features = expected.columns - 1;
    if (sinks.features.bytes + features * 4 > limits.maxStoredBytes)
      throw new UploadProblem(
        field,
        `line ${number}: the features so far take more than the ${limits.maxStoredBytes} bytes of storage left for datasets (DATASET_MAX_TOTAL_BYTES)`,
      );
    const label = cellValue(cells[expected.labelIndex] as string, field, number, expected.labelIndex + 1);
    if (!Number.isInteger(label) || label < 0)
      throw new UploadProblem(
        field,
        `line ${number}, column ${expected.labelIndex + 1}: label ${label} is not a whole number from 0 up`,
      );
    if (label >= bound)
      throw new UploadProblem(
        field,
        `line ${number}, column ${expected.labelIndex + 1}: label ${label} is outside 0..${bound - 1}`,
      );
    if (label > maxLabel) maxLabel = label;
    const labelRoom = await sinks.labels.reserve(2);
    labelRoom.buffer.writeUInt16LE(label, labelRoom.offset);
    sinks.labels.commit(2);
    const room = await sinks.features.reserve(features * 4);
    let at = room.offset;
    for (let column = 0; column < cells.length; column++) {
      if (column === expected.labelIndex) continue;
      room.buffer.writeFloatLE(cellValue(cells[column] as string, field, number, column + 1), at);
      at += 4;
    }
    sinks.features.commit(features * 4);
  }
  if (!layout || count === 0) throw new UploadProblem(field, 'the file holds no examples: the split is empty');
  return { ...layout, count, features: layout.columns - 1, maxLabel };
}
