import { z } from 'zod';
import { classLimits, datasetNamePattern } from '../../domain/datasets.js';
import { InvalidDataset, type FieldIssue } from '../../domain/errors.js';
import type { CsvOptions } from '../formats/csv-reader.js';
import { textFields, type ReceivedUpload } from './received-upload.js';

/** What the text fields of POST /datasets ask for, checked. */
export interface UploadSettings {
  name: string;
  description: string;
  format: 'idx' | 'csv';
  classNames?: string[];
  /** Classes given without names. */
  numClasses?: number;
  /** Hold out this fraction of the train file as the test split (seeded), instead of test files. */
  testFraction?: number;
  seed: number;
  csv: CsvOptions;
  /** One example's shape, when given (e.g. [28, 28, 1]); its product must be the feature count. */
  shape?: number[];
}

const json = <T extends z.ZodType>(schema: T, what: string) =>
  z
    .string()
    .transform((text, context) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        context.addIssue({ code: 'custom', message: `must be ${what} in JSON` });
        return z.NEVER;
      }
    })
    .pipe(schema);

const fieldsSchema = z.strictObject({
  name: z
    .string()
    .regex(datasetNamePattern, 'must be 1 to 63 lowercase letters, digits or "-", starting with a letter or digit'),
  description: z.string().max(2000).default(''),
  format: z.enum(['idx', 'csv']).optional(),
  classNames: json(
    z
      .array(z.string().trim().min(1).max(100))
      .min(classLimits.min)
      .max(classLimits.max)
      .refine((names) => new Set(names).size === names.length, 'class names must be unique'),
    'an array of names',
  ).optional(),
  numClasses: z.coerce.number().int().min(classLimits.min).max(classLimits.max).optional(),
  testFraction: z.coerce.number().gt(0).lt(1).optional(),
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .default(0),
  labelColumn: z.string().min(1).max(200).optional(),
  header: z.enum(['auto', 'yes', 'no']).default('auto'),
  shape: json(z.array(z.int().min(1).max(1_000_000)).min(1).max(4), 'an array of positive whole numbers').optional(),
} satisfies Record<(typeof textFields)[number], z.ZodType>);

function issuesOf(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: key, message: `unknown field; text fields are ${textFields.join(', ')}` }))
      : [{ path: issue.path.map(String).join('.') || '(form)', message: issue.message }],
  );
}

/** Which files the upload needs, given its format and whether the test split is held out. */
function fileIssues(settings: UploadSettings, files: ReceivedUpload['files']): FieldIssue[] {
  const heldOut = settings.testFraction !== undefined;
  const [train, test] =
    settings.format === 'idx'
      ? [
          ['trainImages', 'trainLabels'],
          ['testImages', 'testLabels'],
        ]
      : [['train'], ['test']];
  const other =
    settings.format === 'idx' ? ['train', 'test'] : ['trainImages', 'trainLabels', 'testImages', 'testLabels'];
  const issues: FieldIssue[] = [];
  for (const field of train) if (!Object.hasOwn(files, field)) issues.push({ path: field, message: 'is required' });
  for (const field of test) {
    if (!heldOut && !Object.hasOwn(files, field))
      issues.push({ path: field, message: 'is required (or give testFraction to hold out part of the train split)' });
    if (heldOut && Object.hasOwn(files, field))
      issues.push({ path: field, message: 'give either test files or testFraction, not both' });
  }
  for (const field of other)
    if (Object.hasOwn(files, field)) issues.push({ path: field, message: `is not a ${settings.format} file field` });
  return issues;
}

/** The upload's settings from its text fields and the files it carried; InvalidDataset naming each bad field. */
export function uploadSettings(upload: ReceivedUpload): UploadSettings {
  const parsed = fieldsSchema.safeParse(Object.fromEntries(upload.fields));
  if (!parsed.success) throw new InvalidDataset([...upload.problems, ...issuesOf(parsed.error)]);
  const fields = parsed.data;
  const format = fields.format ?? (Object.hasOwn(upload.files, 'train') ? 'csv' : 'idx');
  const labelColumn =
    fields.labelColumn === undefined
      ? 0
      : /^[0-9]+$/.test(fields.labelColumn)
        ? Number(fields.labelColumn)
        : fields.labelColumn;
  const settings: UploadSettings = {
    name: fields.name,
    description: fields.description,
    format,
    seed: fields.seed,
    csv: { labelColumn, header: fields.header },
    ...(fields.classNames ? { classNames: fields.classNames } : {}),
    ...(fields.numClasses !== undefined ? { numClasses: fields.numClasses } : {}),
    ...(fields.testFraction !== undefined ? { testFraction: fields.testFraction } : {}),
    ...(fields.shape ? { shape: fields.shape } : {}),
  };
  const issues = [...upload.problems, ...fileIssues(settings, upload.files)];
  if (fields.classNames && fields.numClasses !== undefined && fields.classNames.length !== fields.numClasses) {
    issues.push({
      path: 'numClasses',
      message: `is ${fields.numClasses}, but ${fields.classNames.length} class names are given`,
    });
  }
  if (issues.length > 0) throw new InvalidDataset(issues);
  return settings;
}

/** Classes the upload declared (by names or count), if it did. */
export function declaredClasses(settings: UploadSettings): number | undefined {
  return settings.classNames?.length ?? settings.numClasses;
}
