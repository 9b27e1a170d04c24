import { unwrap } from '@trainer/client';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import type { Context } from '../context.js';
import { UsageError } from '../exit-codes.js';

export const exportFormats = ['csv', 'parquet', 'json'] as const;
export type ExportFormat = (typeof exportFormats)[number];

/** The history in `format`, as a stream of the answer's bytes (nothing is held whole). */
async function historyStream({ trainer }: Context, id: string, format: ExportFormat): Promise<ReadableStream> {
  const request = { params: { path: { id } }, parseAs: 'stream' as const };
  const body =
    format === 'csv'
      ? await unwrap(trainer.api.GET('/jobs/{id}/history.csv', request))
      : format === 'parquet'
        ? await unwrap(trainer.api.GET('/jobs/{id}/history.parquet', request))
        : await unwrap(trainer.api.GET('/jobs/{id}/history', request));
  if (!body) throw new Error('the server sent no body');
  return body as ReadableStream;
}

/**
 * `trainer export ID [--format csv|parquet|json] [--out FILE]`: a job's whole step history,
 * streamed from the server to the file, or to stdout without --out.
 */
export async function exportHistory(
  context: Context,
  id: string,
  options: { format: string; out?: string },
): Promise<void> {
  const format = options.format as ExportFormat;
  if (!exportFormats.includes(format)) {
    throw new UsageError(`--format must be one of ${exportFormats.join(', ')}`, [
      { path: 'format', message: `not ${options.format}` },
    ]);
  }
  if (format === 'parquet' && options.out === undefined && process.stdout.isTTY) {
    throw new UsageError('a Parquet file is binary: give --out FILE, or pipe stdout to a file');
  }
  const body = Readable.fromWeb(await historyStream(context, id, format));
  if (options.out === undefined) {
    // A reader that stops early (`| head`) closes the pipe: that ends the export, it is no failure.
    await pipeline(body, process.stdout, { end: false }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
    return;
  }
  try {
    await pipeline(body, createWriteStream(options.out));
  } catch (error) {
    // A cut stream leaves no half file behind that could pass for a whole one.
    await rm(options.out, { force: true });
    throw error;
  }
  context.output.warn(`history of ${id} written to ${options.out}`);
}
