import { z } from 'zod';
import type { Evaluation } from '../../domain/evaluation.js';
import { imagePreprocesses } from '../../domain/image-preprocessing.js';
import { modelVersions } from '../../domain/run-vocabulary.js';
import { decimalInteger, jobId } from '../http/common-schemas.js';

export const modelVersion = z
  .enum(modelVersions as ['final', 'best'])
  .describe('final: the model at the end of training; best: the epoch of highest test accuracy');

/** ?version= of GET /jobs/:id/model. */
export const modelQuery = z.strictObject({
  version: modelVersion.default('final').meta({ examples: ['best'] }),
});

/**
 * ?version= of GET /jobs/:id/model/weights.bin. tf.loadLayersModel appends the model URL's query to
 * each weights path, so a model loaded from `model?version=best` asks for
 * `model/weights.bin?version=best?version=best`: that form is taken too, when both halves agree.
 */
export const weightsQuery = z.strictObject({
  version: z
    .string()
    .regex(/^(final|best)(\?version=(final|best))?$/, 'must be final or best')
    .refine((value) => new Set(value.split('?version=')).size === 1, 'names two different versions')
    .transform((value) => value.split('?')[0] as z.output<typeof modelVersion>)
    .default('final')
    .meta({ examples: ['final'] })
    .describe('final or best, as in the model.json that names this file'),
});

/** A model in TensorFlow.js layers format (model.json). */
export const modelJson = z
  .object({
    format: z.string().optional(),
    generatedBy: z.string().optional(),
    convertedBy: z.string().nullable().optional(),
    modelTopology: z.record(z.string(), z.unknown()),
    weightsManifest: z.array(
      z.object({
        paths: z.array(z.string()).describe('Relative to the model URL: model/weights.bin?version=<version>'),
        weights: z.array(z.record(z.string(), z.unknown())),
      }),
    ),
    userDefinedMetadata: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('`trainer`: job, version, epoch, inputShape, preprocessing (scale, mean, std), classNames'),
  })
  .meta({ id: 'LayersModelJson' });

const exampleInput = Array.from({ length: 784 }, (_, index) => (index % 28 > 10 && index % 28 < 16 ? 255 : 0));

/** The body of POST /jobs/:id/predict, as documented; the predictor validates inputs and images. */
export const predictBody = z
  .strictObject({
    inputs: z
      .array(z.array(z.number().min(0).max(255)))
      .min(1)
      .max(1000)
      .optional()
      .describe("Raw examples at the dataset's scale (MNIST: 784 grey values 0..255); the server preprocesses them"),
    images: z
      .array(z.string())
      .min(1)
      .max(1000)
      .optional()
      .describe(
        'Base64 PNG or JPEG images of any size (a data: URL prefix is fine), made grey and prepared as `preprocess` says. ' +
          'Together they may decode to at most PREDICT_MAX_DECODED_BYTES (width x height x channels x bytes a sample; 128 MiB by default): 413 beyond',
      ),
    preprocess: z
      .enum(imagePreprocesses)
      .optional()
      .describe(
        'How images become input. `mnist` (the default for models of 28x28 one-channel datasets): as MNIST was made, ' +
          'a light background inverted, cropped to the ink, fitted into 20x20 keeping the aspect ratio and centred by ' +
          'its centre of mass in 28x28, so a photo of a digit on paper or one drawn small in a corner reads right. ' +
          '`resize` (the default for other models): the whole image resized to the input, nothing more. Images only',
      ),
    version: modelVersion.default('final'),
    topK: z.int().min(1).optional().describe('Classes per prediction, most likely first; 3 unless told'),
  })
  .meta({
    description: 'Exactly one of inputs or images, at most 1,000 of them',
    examples: [{ inputs: [exampleInput], topK: 3 }],
  });

/** What the route validates itself: the small fields. Inputs and images go to the predictor as they are. */
export const predictBodyShape = z.strictObject({
  inputs: z.unknown().optional(),
  images: z.unknown().optional(),
  preprocess: z.unknown().optional(),
  version: modelVersion.default('final'),
  topK: z.unknown().optional(),
});

export const predictions = z
  .object({
    version: modelVersion,
    epoch: z.int().describe('The epoch whose weights answered'),
    predictions: z.array(
      z.object({
        label: z.int().describe('The most likely class'),
        className: z.string().optional(),
        probabilities: z
          .array(z.object({ label: z.int(), probability: z.number() }))
          .describe('topK, most likely first'),
      }),
    ),
  })
  .meta({ id: 'Predictions' });

export const evaluationQuery = z.strictObject({
  epoch: decimalInteger(1, 1_000_000, '3').optional().describe('1-based; the last recorded epoch when left out'),
});

const ratio = z.number().nullable();

export const evaluation = z
  .object({
    jobId,
    epoch: z.int(),
    classCount: z.int(),
    count: z.int().describe('Test examples'),
    correct: z.int(),
    accuracy: ratio,
    confusionMatrix: z.array(z.array(z.int())).describe('[true label][predicted label] = test examples'),
    classes: z.array(
      z.object({
        label: z.int(),
        support: z.int().describe('Test examples of this class'),
        predicted: z.int().describe('Test examples predicted as this class'),
        precision: ratio.describe('null for a class never predicted'),
        recall: ratio.describe('null for a class absent from the test set'),
        f1: ratio,
        accuracy: ratio.describe('Share of the class classified correctly (= recall)'),
      }),
    ),
    macro: z.object({ precision: ratio, recall: ratio, f1: ratio }).describe('Means over classes with a value'),
    mistakes: z
      .array(
        z.object({
          index: z.int().describe('In the test split: GET /datasets/<dataset>/examples/test/<index>.png shows it'),
          trueLabel: z.int(),
          predictedLabel: z.int(),
          confidence: z.number().describe('The probability given to the wrong prediction'),
        }),
      )
      .describe('The final epoch: up to 50 most confident mistakes, most confident first'),
  })
  .meta({ id: 'Evaluation' });

// The schema serves the domain's Evaluation as it is: this fails to compile if they drift apart.
const _servesEvaluation = (value: Evaluation): Omit<z.input<typeof evaluation>, 'jobId' | 'epoch'> => value;
