import { ByteWriter, ParquetWriter, type Writer } from 'hyparquet-writer';
import type { StepRun } from '../../domain/metrics.js';

// step and epoch are never missing; a loss that is not finite is null, as JSON writes it.
const schema = [
  { name: 'root', num_children: 3 },
  { name: 'step', type: 'INT32' as const, repetition_type: 'REQUIRED' as const },
  { name: 'epoch', type: 'INT32' as const, repetition_type: 'REQUIRED' as const },
  { name: 'loss', type: 'DOUBLE' as const, repetition_type: 'OPTIONAL' as const },
];

/** A page of runs as three columns, the losses as they are unless one of them is not finite. */
function columnsOf(runs: readonly StepRun[]) {
  const count = runs.reduce((total, run) => total + run.losses.length, 0);
  const steps = new Int32Array(count);
  const epochs = new Int32Array(count);
  const losses = new Float64Array(count);
  let row = 0;
  for (const run of runs) {
    losses.set(run.losses, row);
    epochs.fill(run.epoch, row, row + run.losses.length);
    for (let index = 0; index < run.losses.length; index += 1) steps[row + index] = run.firstStep + index;
    row += run.losses.length;
  }
  const allFinite = losses.every(Number.isFinite);
  return [
    { name: 'step', data: steps, encoding: 'DELTA_BINARY_PACKED' as const },
    { name: 'epoch', data: epochs },
    {
      name: 'loss',
      data: allFinite ? losses : Array.from(losses, (loss) => (Number.isFinite(loss) ? loss : null)),
      // Losses are noise to a compressor and almost never repeat: SNAPPY and a dictionary would cost
      // time and save nothing.
      codec: 'UNCOMPRESSED' as const,
      encoding: 'PLAIN' as const,
    },
  ];
}

/**
 * A writer that hands over what was written after each row group instead of holding the file: the
 * bytes since the last flush are taken out and its buffer is reused.
 */
function drainingWriter(): { writer: ByteWriter & Writer; take: () => Buffer | null } {
  const writer: ByteWriter & Writer = new ByteWriter(1 << 20);
  let taken: Buffer[] = [];
  const take = () => {
    if (writer.index > 0) taken.push(Buffer.from(writer.getBytes()));
    writer.index = 0;
  };
  writer.flush = take;
  writer.finish = take;
  return {
    writer,
    take: () => {
      const out = taken.length === 0 ? null : Buffer.concat(taken);
      taken = [];
      return out;
    },
  };
}

/**
 * A job's whole loss history as a Parquet file (columns step, epoch, loss; SNAPPY), one row group a
 * page of runs, each handed on as soon as it is written: memory holds a page, never the file.
 */
export async function* historyParquet(pages: AsyncIterable<readonly StepRun[]>): AsyncGenerator<Buffer> {
  const { writer, take } = drainingWriter();
  const parquet = new ParquetWriter({ writer, schema, createdBy: 'trainer' });
  for await (const runs of pages) {
    const columnData = columnsOf(runs);
    const rows = columnData[0]?.data.length ?? 0;
    if (rows === 0) continue;
    // One row group for the page: its rows are written, then flushed, before the next page is read.
    await parquet.write({ columnData, rowGroupSize: rows });
    const bytes = take();
    if (bytes) yield bytes;
  }
  await parquet.finish();
  const footer = take();
  if (footer) yield footer;
}
