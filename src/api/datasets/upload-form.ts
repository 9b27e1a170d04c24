import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import '@fastify/multipart';
import { DatasetTooLarge, InvalidDataset, InvalidRequest, type FieldIssue } from '../../domain/errors.js';

import {
  fileFields,
  textFields,
  type FileField,
  type ReceivedUpload,
  type SpooledFile,
} from '../../datasets/ingestion/received-upload.js';

export type { ReceivedUpload, SpooledFile };

const formLimits = { files: fileFields.length, fields: 20, parts: 30, fieldSize: 1024 * 1024 };

const isFileField = (name: string): name is FileField => (fileFields as readonly string[]).includes(name);
const isTextField = (name: string) => (textFields as readonly string[]).includes(name);

/** The multipart plugin's refusals of a whole form, as the issue that explains each (by its error code). */
const formRefusals = new Map<string, string>([
  [
    'FST_FILES_LIMIT',
    `more than ${formLimits.files} files: an upload has at most one of each file field (${fileFields.join(', ')})`,
  ],
  [
    'FST_FIELDS_LIMIT',
    `more than ${formLimits.fields} text fields: an upload has at most one of each (${textFields.join(', ')})`,
  ],
  ['FST_PARTS_LIMIT', `more than ${formLimits.parts} parts: an upload has at most one of each field`],
  [
    'FST_PROTO_VIOLATION',
    'a field is named after a property of every JavaScript object (such as __proto__ or constructor); no field of an upload is',
  ],
  ['FST_INVALID_JSON_FIELD_ERROR', 'a field declared as application/json is not valid JSON'],
]);

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

/** A sink for a file that is refused: read to its end (its bytes still count), kept nowhere. */
const discard = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

/** What a failure while receiving means for the client: its own error, a limit, or a cut-off upload. */
function interrupted(error: unknown, maxBytes: number, problems: readonly FieldIssue[]): never {
  if (error instanceof DatasetTooLarge) throw error;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(maxBytes);
  const refusal = typeof code === 'string' ? formRefusals.get(code) : undefined;
  if (refusal !== undefined) throw new InvalidDataset([...problems, { path: '(form)', message: refusal }]);
  // The plugin's other client errors (not multipart, cut off) keep their 4xx status.
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) throw error;
  throw new InvalidRequest('upload_interrupted', `the upload did not arrive whole: ${(error as Error).message}`);
}

/** Why a file part under `field` is not kept, or undefined when it is. */
function fileProblem(field: string, received: ReceivedUpload['files']): string | undefined {
  if (isTextField(field)) return 'is a text field, sent as a file; send its value instead (curl -F field=value)';
  if (!isFileField(field)) return `unknown file field; files go in ${fileFields.join(', ')}`;
  if (received[field]) return 'sent twice; send each file once';
  return undefined;
}

/**
 * Receives a multipart upload with bounded memory: each file streams to `directory` as it arrives, in
 * whatever order the client sends parts. Fails with DatasetTooLarge once the files pass `maxBytes`,
 * and with InvalidDataset when the form has more parts than any upload needs.
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
  const fields = new Map<string, string>();
  const files: ReceivedUpload['files'] = {};
  const problems: FieldIssue[] = [];
  const state = { bytes: 0 };
  const parts = request.parts({ limits: { ...formLimits, fileSize: maxBytes } });
  try {
    for await (const part of parts) {
      const field = part.fieldname;
      if (part.type === 'field') {
        if (fields.has(field)) problems.push({ path: field, message: 'sent twice; send each field once' });
        else if (part.valueTruncated)
          problems.push({ path: field, message: `longer than ${formLimits.fieldSize} bytes` });
        // A field sent as application/json arrives parsed; settings read every field as text.
        else fields.set(field, typeof part.value === 'string' ? part.value : JSON.stringify(part.value));
        continue;
      }
      const problem = fileProblem(field, files);
      if (problem !== undefined || !isFileField(field)) {
        problems.push({ path: field, message: problem ?? 'not a file field' });
        await pipeline(part.file, byteCounter(state, maxBytes), discard());
        continue;
      }
      const target = path.join(directory, `upload-${field}`);
      const before = state.bytes;
      await pipeline(part.file, byteCounter(state, maxBytes), createWriteStream(target));
      if (part.file.truncated) throw tooLarge(maxBytes);
      files[field] = { path: target, bytes: state.bytes - before };
    }
  } catch (error) {
    interrupted(error, maxBytes, problems);
  }
  return { fields, files, problems, bytes: state.bytes };
}
