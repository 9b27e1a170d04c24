import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import '@fastify/multipart';
import { DatasetTooLarge, InvalidRequest } from '../../domain/errors.js';
import { UploadProblem } from './spool.js';

/** File fields of POST /datasets: IDX images and labels per split, or one CSV file per split. */
export const fileFields = ['trainImages', 'trainLabels', 'testImages', 'testLabels', 'train', 'test'] as const;
export type FileField = (typeof fileFields)[number];

export interface SpooledFile {
  path: string;
  bytes: number;
}

/** What a multipart upload carried: its text fields and its files, spooled to local disk. */
export interface ReceivedUpload {
  fields: Record<string, string>;
  files: Partial<Record<FileField, SpooledFile>>;
  /** Bytes of all files together, as sent (compressed ones compressed). */
  bytes: number;
}

const isFileField = (name: string): name is FileField => (fileFields as readonly string[]).includes(name);

function tooLarge(maxBytes: number): DatasetTooLarge {
  return new DatasetTooLarge(
    'upload',
    `the upload is larger than the limit of ${maxBytes} bytes (DATASET_MAX_UPLOAD_BYTES)`,
  );
}

/** Counts bytes across every file of the upload and fails as soon as they pass the limit. */
function byteCounter(state: { bytes: number }, maxBytes: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      state.bytes += chunk.length;
      if (state.bytes > maxBytes) callback(tooLarge(maxBytes));
      else callback(null, chunk);
    },
  });
}

/** What a failure while receiving means for the client: its own error, a limit, or a cut-off upload. */
function interrupted(error: unknown, maxBytes: number): never {
  if (error instanceof DatasetTooLarge || error instanceof UploadProblem) throw error;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(maxBytes);
  // The plugin's own client errors (too many parts or files, not multipart) keep their 4xx status.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) throw error;
  throw new InvalidRequest('upload_interrupted', `the upload did not arrive whole: ${(error as Error).message}`);
}

/**
 * Receives a multipart upload with bounded memory: each file streams to `directory` as it arrives, in
 * whatever order the client sends parts. Fails with DatasetTooLarge once the files pass `maxBytes`.
 */
export async function receiveUpload(
  request: FastifyRequest,
  directory: string,
  maxBytes: number,
): Promise<ReceivedUpload> {
  if (!request.isMultipart()) {
    throw new InvalidRequest('not_multipart', 'POST /datasets takes multipart/form-data (curl -F field=@file)');
  }
  const declared = Number(request.headers['content-length'] ?? 0);
  // Multipart framing adds a few hundred bytes per part on top of the files.
  if (declared > maxBytes + 64 * 1024) throw tooLarge(maxBytes);
  const received: ReceivedUpload = { fields: {}, files: {}, bytes: 0 };
  const state = { bytes: 0 };
  const parts = request.parts({
    limits: { fileSize: maxBytes, files: 6, fields: 20, fieldSize: 1024 * 1024, parts: 30 },
  });
  try {
    for await (const part of parts) {
      if (part.type === 'field') {
        received.fields[part.fieldname] = String(part.value);
        continue;
      }
      const field = part.fieldname;
      if (!isFileField(field))
        throw new UploadProblem(field, `unknown file field; files go in ${fileFields.join(', ')}`);
      if (received.files[field]) throw new UploadProblem(field, 'sent twice');
      const target = path.join(directory, `upload-${field}`);
      const before = state.bytes;
      await pipeline(part.file, byteCounter(state, maxBytes), createWriteStream(target));
      if (part.file.truncated) throw tooLarge(maxBytes);
      received.files[field] = { path: target, bytes: state.bytes - before };
    }
  } catch (error) {
    interrupted(error, maxBytes);
  }
  received.bytes = state.bytes;
  return received;
}
