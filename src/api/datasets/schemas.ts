import { z } from 'zod';
import { datasetSplits } from '../../datasets/examples/examples.js';
import { decimalInteger } from '../http/common-schemas.js';

export const exampleParams = z.object({
  name: z
    .string()
    .max(100)
    .meta({ examples: ['mnist'] })
    .describe('A dataset: mnist, or an uploaded one the key may see'),
  split: z.enum(datasetSplits).describe('train or test'),
  index: decimalInteger(0, 1_000_000_000, '0').describe('0-based index in the split'),
});

export const exampleQuery = z.strictObject({
  scale: decimalInteger(1, 16, '8').default(1).describe('Each pixel becomes scale x scale pixels'),
});
