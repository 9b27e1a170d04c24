import { z } from 'zod';
import { datasetNamePattern } from '../../domain/datasets.js';
import { isoTime } from '../http/common-schemas.js';

export const datasetName = z
  .string()
  .regex(datasetNamePattern, 'must be a dataset name: lowercase letters, digits and "-", at most 63')
  .meta({ description: 'A dataset name', examples: ['fashion-mnist'] });

export const datasetParams = z.object({ name: datasetName });

/** GET /datasets's query: an admin may list one owner's uploads. */
export const datasetListQuery = z.object({
  owner: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe("Only this owner's uploaded datasets; for admins (other keys always see only their own owner's)"),
});

/** One line of GET /datasets. */
export const datasetSummary = z
  .object({
    name: z.string(),
    description: z.string(),
    bundled: z.boolean().describe('Ships with the server; cannot be deleted'),
    inputShape: z.array(z.int()).describe('One example, e.g. [28, 28, 1]; dense layers see it flattened'),
    numClasses: z.int(),
    trainSize: z.int(),
    testSize: z.int(),
    bytes: z.int().nullable().describe('Stored size; null for bundled datasets'),
    createdAt: isoTime.nullable(),
  })
  .meta({ id: 'DatasetSummary' });

export const datasetList = z.object({ datasets: z.array(datasetSummary) });

/** GET /datasets/:name and the answer to an upload. */
export const datasetView = datasetSummary
  .extend({
    format: z.enum(['bundled', 'idx', 'csv']),
    classes: z.array(
      z.object({
        label: z.int(),
        name: z.string().nullable(),
        trainCount: z.int().nullable(),
        testCount: z.int().nullable(),
      }),
    ),
    statistics: z
      .object({
        scale: z.number().describe('Stored value * scale is the feature described here (1/255 for IDX pixels)'),
        mean: z.number().describe('Of the training features; training normalises with (x - mean) / std'),
        std: z.number(),
        min: z.number().nullable(),
        max: z.number().nullable(),
      })
      .describe('Of the train split'),
    sha256: z.string().nullable().describe('Content hash of the stored form; workers cache by it'),
    uploadBytes: z.int().nullable(),
  })
  .meta({ id: 'Dataset' });

export type DatasetView = z.output<typeof datasetView>;
export type DatasetSummary = z.output<typeof datasetSummary>;

/** The multipart form of POST /datasets, for the OpenAPI document (the service reads the stream itself). */
export const datasetUploadForm = z
  .object({
    name: datasetName,
    description: z.string().optional(),
    format: z.enum(['idx', 'csv']).optional().describe('Default: csv when a `train` file is sent, else idx'),
    trainImages: z
      .string()
      .meta({ format: 'binary' })
      .optional()
      .describe('IDX images (count x rows x columns), plain or gzip'),
    trainLabels: z.string().meta({ format: 'binary' }).optional().describe('IDX labels, plain or gzip'),
    testImages: z.string().meta({ format: 'binary' }).optional(),
    testLabels: z.string().meta({ format: 'binary' }).optional(),
    train: z.string().meta({ format: 'binary' }).optional().describe('CSV, one example per row, plain or gzip'),
    test: z.string().meta({ format: 'binary' }).optional(),
    testFraction: z.string().optional().describe('Instead of test files: hold out this fraction (0..1) of train'),
    seed: z.string().optional().describe('Seed of the held-out choice (default 0)'),
    classNames: z.string().optional().describe('JSON array of names, in label order'),
    numClasses: z.string().optional().describe('Class count when no names are given (default: highest label + 1)'),
    labelColumn: z.string().optional().describe('CSV: 0-based index or header name of the label column (default 0)'),
    header: z
      .enum(['auto', 'yes', 'no'])
      .optional()
      .describe('CSV: whether the first row is a header (auto: when a cell is not a number)'),
    shape: z
      .string()
      .optional()
      .describe('JSON shape of one example, e.g. [28,28,1] (default: flat, or the IDX shape)'),
  })
  .meta({
    description: 'multipart/form-data: text fields and files, in any order',
    examples: [
      {
        name: 'fashion-mnist',
        classNames: '["T-shirt/top","Trouser","Pullover","Dress","Coat","Sandal","Shirt","Sneaker","Bag","Ankle boot"]',
        trainImages: '<train-images-idx3-ubyte.gz>',
        trainLabels: '<train-labels-idx1-ubyte.gz>',
        testImages: '<t10k-images-idx3-ubyte.gz>',
        testLabels: '<t10k-labels-idx1-ubyte.gz>',
      },
    ],
  });
