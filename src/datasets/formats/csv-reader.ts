import { bytesPerFeature, bytesPerLabel } from '../../domain/dataset-layout.js';
import { classLimits } from '../../domain/datasets.js';
import { UploadProblem, type ReadLimits, type SpoolWriter } from '../ingestion/spool.js';

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
const featureBytes = bytesPerFeature.float32;
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

/**
 * The cells of one row, one at a time: a wide row never becomes an array of strings (a row of a
 * million cells would take far more memory as one than its text does).
 */
class Cells {
  private start = 0;

  constructor(private readonly text: string) {}

  /** The next cell; an empty string past the last one. */
  next(): string {
    const comma = this.text.indexOf(',', this.start);
    const end = comma === -1 ? this.text.length : comma;
    const cell = this.text.slice(this.start, end);
    this.start = end + 1;
    return cell;
  }

  /** Whether every cell has been taken. */
  get done(): boolean {
    return this.start > this.text.length;
  }

  /** Cell `column` (0-based), from the start of the row. */
  static at(text: string, column: number): string {
    const cells = new Cells(text);
    for (let skipped = 0; skipped < column; skipped++) cells.next();
    return cells.next();
  }

  static count(text: string): number {
    let count = 1;
    for (let comma = text.indexOf(','); comma !== -1; comma = text.indexOf(',', comma + 1)) count++;
    return count;
  }

  /** The index of the first cell `matches` accepts, or -1. */
  static find(text: string, columns: number, matches: (cell: string) => boolean): number {
    const cells = new Cells(text);
    for (let column = 0; column < columns; column++) if (matches(cells.next())) return column;
    return -1;
  }
}

function isHeader(text: string, columns: number, options: CsvOptions): boolean {
  if (options.header !== 'auto') return options.header === 'yes';
  return Cells.find(text, columns, (cell) => !numberPattern.test(unquote(cell))) >= 0;
}

const headerName = (cell: string) => unquote(cell).trim();

/** The 0-based label column, from the header row's names (null without a header) or the index given. */
function labelIndexOf(
  header: string | null,
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
  if (header === null)
    throw new UploadProblem(
      field,
      `line ${line}: the label column is named "${labelColumn}", but the file has no header row`,
    );
  const index = Cells.find(header, columns, (cell) => headerName(cell) === labelColumn);
  if (index < 0) {
    const cells = new Cells(header);
    const first = Array.from({ length: Math.min(columns, 5) }, () => headerName(cells.next()));
    const shown = `${first.join(', ')}${columns > 5 ? ', ...' : ''}`;
    throw new UploadProblem(field, `line ${line}: no column is called "${labelColumn}" (the header has ${shown})`);
  }
  return index;
}

/**
 * The first row: whether it is a header, and the columns it sets, checked against the example size
 * limit before any other row is read, and against the train file's columns (`train`).
 */
function firstRow(
  text: string,
  options: CsvOptions,
  field: string,
  line: number,
  limits: ReadLimits,
  train?: CsvColumns,
) {
  const columns = Cells.count(text);
  const header = isHeader(text, columns, options);
  const labelIndex = labelIndexOf(header ? text : null, columns, options, field, line);
  if (train && columns !== train.columns) {
    throw new UploadProblem(field, `line ${line}: ${columns} columns, but the train file has ${train.columns}`);
  }
  const features = columns - 1;
  if (features < 1) throw new UploadProblem(field, `line ${line}: a row needs at least one feature besides its label`);
  if (features * featureBytes > limits.maxExampleBytes) {
    throw new UploadProblem(
      field,
      `line ${line}: an example of ${features} features is ${features * featureBytes} bytes; at most ${limits.maxExampleBytes} (DATASET_MAX_EXAMPLE_BYTES)`,
    );
  }
  return { header, layout: { columns, labelIndex } };
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

/** Where a row is and what it must match, for writing it and for the positions of its problems. */
interface RowContext {
  field: string;
  line: number;
  layout: CsvColumns;
  firstLine: number;
  /** Labels must be below it. */
  classBound: number;
}

/**
 * Writes a row's features (every cell but the label's) as float32 LE, as many at a time as fit the
 * writer's buffer, so a row wider than the buffer goes in several pieces. False when the row goes
 * on past the last feature it should have.
 */
async function writeFeatures(cells: Cells, features: number, row: RowContext, out: SpoolWriter): Promise<boolean> {
  const perPiece = Math.floor(out.capacity / featureBytes);
  const { labelIndex } = row.layout;
  let column = 0;
  for (let remaining = features; remaining > 0;) {
    const take = Math.min(remaining, perPiece);
    const room = await out.reserve(take * featureBytes);
    let at = room.offset;
    for (let written = 0; written < take; column++) {
      const cell = cells.next();
      if (column === labelIndex) continue;
      room.buffer.writeFloatLE(cellValue(cell, row.field, row.line, column + 1), at);
      at += featureBytes;
      written++;
    }
    out.commit(take * featureBytes);
    remaining -= take;
  }
  // A label in the last column is still ahead of the cursor.
  if (labelIndex === column) cells.next();
  return cells.done;
}

function labelOf(text: string, row: RowContext): number {
  const { labelIndex } = row.layout;
  const label = cellValue(Cells.at(text, labelIndex), row.field, row.line, labelIndex + 1);
  if (!Number.isInteger(label) || label < 0)
    throw new UploadProblem(
      row.field,
      `line ${row.line}, column ${labelIndex + 1}: label ${label} is not a whole number from 0 up`,
    );
  if (label >= row.classBound)
    throw new UploadProblem(
      row.field,
      `line ${row.line}, column ${labelIndex + 1}: label ${label} is outside 0..${row.classBound - 1}`,
    );
  return label;
}

/**
 * Writes one example row (its label, then its features) and returns its label. Cells are not
 * counted first: a row with too few or too many is found as it is written, and reported as such.
 */
async function writeRow(text: string, row: RowContext, sinks: Sinks): Promise<number> {
  const columnsProblem = () => {
    const found = Cells.count(text);
    return found === row.layout.columns
      ? undefined
      : new UploadProblem(
          row.field,
          `line ${row.line}: ${found} columns, but line ${row.firstLine} has ${row.layout.columns}`,
        );
  };
  try {
    const label = labelOf(text, row);
    const labelRoom = await sinks.labels.reserve(bytesPerLabel);
    labelRoom.buffer.writeUInt16LE(label, labelRoom.offset);
    sinks.labels.commit(bytesPerLabel);
    const whole = await writeFeatures(new Cells(text), row.layout.columns - 1, row, sinks.features);
    const tooLong = whole ? undefined : columnsProblem();
    if (tooLong) throw tooLong;
    return label;
  } catch (error) {
    // A cell that is missing, or one too many, is the row's length: say that rather than what it made.
    throw columnsProblem() ?? error;
  }
}

interface Sinks {
  features: SpoolWriter;
  labels: SpoolWriter;
}

/**
 * Reads a CSV file (one example per row, a label column, numeric features), writing features as
 * float32 LE and labels as uint16 LE. `columns`, from the train file, is what the test file must match.
 */
export async function readCsv(
  content: AsyncIterable<Buffer>,
  field: string,
  sinks: Sinks,
  options: CsvOptions,
  limits: ReadLimits,
  columns?: CsvColumns,
): Promise<CsvSplit> {
  const classBound = limits.numClasses ?? classLimits.max;
  let layout: CsvColumns | undefined;
  let firstLine = 0;
  let count = 0;
  let maxLabel = 0;
  for await (const { text, number } of linesOf(content, field)) {
    if (!layout) {
      firstLine = number;
      const row = firstRow(text, options, field, number, limits, columns);
      layout = row.layout;
      if (row.header) continue;
    }
    count++;
    if (count > limits.maxExamples)
      throw new UploadProblem(
        field,
        `line ${number}: more than ${limits.maxExamples} examples; a dataset may have at most that many (DATASET_MAX_EXAMPLES)`,
      );
    if (sinks.features.bytes + (layout.columns - 1) * featureBytes > limits.maxStoredBytes)
      throw new UploadProblem(
        field,
        `line ${number}: the features so far take more than the ${limits.maxStoredBytes} bytes of storage left for datasets (DATASET_MAX_TOTAL_BYTES)`,
      );
    const label = await writeRow(text, { field, line: number, layout, firstLine, classBound }, sinks);
    if (label > maxLabel) maxLabel = label;
  }
  if (!layout || count === 0) throw new UploadProblem(field, 'the file holds no examples: the split is empty');
  return { ...layout, count, features: layout.columns - 1, maxLabel };
}
