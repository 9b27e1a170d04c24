import { openAsBlob, statSync } from 'node:fs';
import path from 'node:path';
import { unwrap } from '@trainer/client';
import cliProgress from 'cli-progress';
import type { Context } from '../context.js';
import { UsageError } from '../exit-codes.js';
import { count } from '../format.js';
import { aboutFile } from '../refusals.js';
import { table } from '../table.js';

const fileFields = ['trainImages', 'trainLabels', 'testImages', 'testLabels', 'train', 'test'] as const;
type FileField = (typeof fileFields)[number];

/** POST /datasets's text fields, as options of `trainer datasets upload`. */
export interface UploadOptions {
  description?: string;
  format?: string;
  testFraction?: string;
  seed?: string;
  classNames?: string;
  numClasses?: string;
  labelColumn?: string;
  header?: string;
  shape?: string;
}

/**
 * The form field of a file: `field=path` names it; otherwise its name tells (train-images-idx3-ubyte.gz
 * is trainImages, t10k-labels is testLabels, a CSV is train unless its name says test).
 */
export function fieldOf(argument: string): { field: FileField; file: string } {
  const named = /^([A-Za-z]+)=(.+)$/.exec(argument);
  if (named) {
    const field = named[1] as FileField;
    if (!fileFields.includes(field)) {
      throw new UsageError(`unknown file field ${named[1]}`, [
        { path: named[1] ?? '', message: `must be one of ${fileFields.join(', ')}` },
      ]);
    }
    return { field, file: named[2] as string };
  }
  const name = path.basename(argument).toLowerCase();
  const split = /t10k|test/.test(name) ? 'test' : /train/.test(name) ? 'train' : null;
  const kind = /images|idx3/.test(name)
    ? 'Images'
    : /labels|idx1/.test(name)
      ? 'Labels'
      : /\.csv(\.gz)?$/.test(name)
        ? ''
        : null;
  if (kind === '') return { field: split ?? 'train', file: argument };
  if (split === null || kind === null) {
    throw new UsageError(`cannot tell which file ${argument} is: name it, as trainImages=${argument}`, [
      { path: argument, message: `give field=path with a field of ${fileFields.join(', ')}` },
    ]);
  }
  return { field: `${split}${kind}` as FileField, file: argument };
}

/** The form, and its size in bytes (the files'), for the upload bar. */
async function uploadForm(
  name: string,
  files: string[],
  options: UploadOptions,
): Promise<{ form: FormData; bytes: number }> {
  const form = new FormData();
  form.set('name', name);
  for (const [field, value] of Object.entries(options)) if (typeof value === 'string') form.set(field, value);
  let bytes = 0;
  for (const { field, file } of files.map(fieldOf)) {
    try {
      bytes += statSync(file).size;
      form.set(field, await openAsBlob(file), path.basename(file));
    } catch {
      throw new UsageError(`cannot read ${file}`, [{ path: field, message: 'no such file' }]);
    }
  }
  return { form, bytes };
}

/** `trainer datasets upload NAME FILES…`: the files and fields as POST /datasets takes them, with a bar of bytes sent. */
export async function upload(context: Context, name: string, files: string[], options: UploadOptions): Promise<void> {
  const { output, trainer } = context;
  const { form, bytes } = await uploadForm(name, files, options);
  // Encoded once, so its bytes can be counted as fetch reads them.
  const encoded = new Response(form);
  const bar = output.bars
    ? new cliProgress.SingleBar(
        { stream: process.stderr, format: 'uploading {bar} {percentage}% | {value}/{total} bytes', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  bar?.start(bytes, 0);
  let sent = 0;
  const counted = (encoded.body as ReadableStream<Uint8Array>).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sent += chunk.byteLength;
        bar?.update(Math.min(sent, bytes));
        controller.enqueue(chunk);
      },
    }),
  );
  try {
    const dataset = await unwrap(
      trainer.api.POST('/datasets', {
        // The body is the form encoded above; the schema's type is of its fields.
        body: {} as never,
        bodySerializer: () => counted,
        headers: { 'content-type': encoded.headers.get('content-type') ?? 'multipart/form-data' },
        duplex: 'half',
      }),
    );
    bar?.stop();
    output.result(
      dataset,
      `uploaded ${dataset.name}: ${count(dataset.trainSize)} train and ${count(dataset.testSize)} test examples of ${dataset.inputShape.join('x')}, ${dataset.numClasses} classes`,
    );
  } catch (error) {
    bar?.stop();
    throw aboutFile(error, name);
  }
}

/** `trainer datasets ls`. */
export async function list({ trainer, output }: Context): Promise<void> {
  const answer = await unwrap(trainer.api.GET('/datasets'));
  const rows = answer.datasets.map((dataset) => [
    dataset.name,
    dataset.bundled ? 'bundled' : 'uploaded',
    dataset.inputShape.join('x'),
    dataset.numClasses,
    count(dataset.trainSize),
    count(dataset.testSize),
    dataset.description,
  ]);
  output.result(answer, table(output, ['name', 'kind', 'shape', 'classes', 'train', 'test', 'description'], rows));
}

/** `trainer datasets rm NAME`. */
export async function remove({ trainer, output }: Context, name: string): Promise<void> {
  await unwrap(trainer.api.DELETE('/datasets/{name}', { params: { path: { name } } }));
  output.result({ deleted: name }, `deleted dataset ${name}`);
}
