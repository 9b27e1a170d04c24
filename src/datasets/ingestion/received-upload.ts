// What a dataset upload is once received, whatever carried it: its text fields by name and its files
// spooled to local disk (the HTTP side, api/datasets/upload-form.ts, fills it from a multipart form).
import type { FieldIssue } from '../../domain/errors.js';

/** File fields of POST /datasets: IDX images and labels per split, or one CSV file per split. */
export const fileFields = ['trainImages', 'trainLabels', 'testImages', 'testLabels', 'train', 'test'] as const;
export type FileField = (typeof fileFields)[number];

/** Text fields of POST /datasets (checked by upload-settings.ts). */
export const textFields = [
  'name',
  'description',
  'format',
  'classNames',
  'numClasses',
  'testFraction',
  'seed',
  'labelColumn',
  'header',
  'shape',
] as const;

export interface SpooledFile {
  path: string;
  bytes: number;
}

/**
 * What a multipart upload carried: its text fields and its files, spooled to local disk, and what
 * was wrong with the form itself (a field sent twice, a file under a name no file goes in).
 */
export interface ReceivedUpload {
  /** By field name: a Map, so no name a client picks can reach an object's prototype. */
  fields: ReadonlyMap<string, string>;
  files: Partial<Record<FileField, SpooledFile>>;
  problems: readonly FieldIssue[];
  /** Bytes of all files together, as sent (compressed ones compressed). */
  bytes: number;
}
