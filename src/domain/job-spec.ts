import { z } from 'zod';
import { bundledDataset, datasetNamePattern, datasetNames, type DatasetInfo } from './datasets.js';
import { estimateTrainingBytes, formatBytes } from './memory.js';
import { countParameters, isImageLayer, walkShapes } from './model-shape.js';
import { activations, epochMetricNames, layerTypes, limits, optimizers, paddings } from './spec-vocabulary.js';
import { text } from './text.js';

export { activations, epochMetricNames, layerTypes, limits, optimizers, paddings } from './spec-vocabulary.js';
export type { EpochMetricName } from './spec-vocabulary.js';

/** A window size or stride: one integer for a square, or [height, width]. */
const windowSize = z.union([
  z.int().min(1).max(limits.kernelSize),
  z.tuple([z.int().min(1).max(limits.kernelSize), z.int().min(1).max(limits.kernelSize)]),
]);

const denseLayer = z.strictObject({
  type: z.literal('dense'),
  units: z.int().min(1).max(limits.units),
  activation: z.enum(activations).default('linear'),
});

const dropoutLayer = z.strictObject({
  type: z.literal('dropout'),
  rate: z.number().min(0).lt(1, 'must be at least 0 and less than 1'),
});

const conv2dLayer = z.strictObject({
  type: z.literal('conv2d'),
  filters: z.int().min(1).max(limits.filters),
  kernelSize: windowSize,
  strides: windowSize.default(1),
  padding: z.enum(paddings).default('valid'),
  activation: z.enum(activations).default('linear'),
});

// Strides default to the pool size (non-overlapping windows), filled in when the shapes are walked.
const poolFields = {
  poolSize: windowSize,
  strides: windowSize.optional(),
  padding: z.enum(paddings).default('valid'),
};
const maxPoolLayer = z.strictObject({ type: z.literal('maxPool2d'), ...poolFields });
const avgPoolLayer = z.strictObject({ type: z.literal('avgPool2d'), ...poolFields });

const flattenLayer = z.strictObject({ type: z.literal('flatten') });

// Keras's convention: momentum weighs the old moving statistics (PyTorch's momentum 0.1 is 0.9 here);
// the defaults are PyTorch's.
const batchNormalizationLayer = z.strictObject({
  type: z.literal('batchNormalization'),
  momentum: z.number().min(0).lt(1, 'must be at least 0 and less than 1').default(0.9),
  epsilon: z.number().gt(0).max(1).default(1e-5),
});

const layer = z.discriminatedUnion(
  'type',
  [denseLayer, dropoutLayer, conv2dLayer, maxPoolLayer, avgPoolLayer, flattenLayer, batchNormalizationLayer],
  {
    error: (issue) =>
      issue.code === 'invalid_union' ? `type must be one of ${layerTypes.map((t) => `"${t}"`).join(', ')}` : undefined,
  },
);

const baseSpec = z.strictObject({
  name: text().trim().min(1).max(limits.nameLength).optional(),
  tags: z
    .array(text().trim().min(1).max(limits.tagLength))
    .max(limits.tags)
    .refine((tags) => new Set(tags).size === tags.length, 'tags must be unique')
    .optional(),
  dataset: z
    .string()
    .regex(datasetNamePattern, 'must be a dataset name: lowercase letters, digits and "-", at most 63')
    .default('mnist'),
  seed: z
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .optional(),
  trainSamples: z.int().min(1).optional(),
  testSamples: z.int().min(1).optional(),
  model: z.strictObject({
    layers: z.array(layer).min(1).max(limits.layers),
  }),
  epochs: z.int().min(1).max(limits.epochs),
  learningRate: z.number().gt(0).max(limits.learningRate),
  batchSize: z.int().min(1).max(limits.batchSize),
  optimizer: z.enum(optimizers).default('sgd'),
  validationSamples: z.int().min(1).optional(),
  validationFraction: z.number().gt(0).lt(1).optional(),
  earlyStopping: z
    .strictObject({
      metric: z.enum(epochMetricNames),
      mode: z.enum(['min', 'max']),
      patience: z.int().min(1).max(limits.epochs),
      minDelta: z.number().min(0).default(0),
    })
    .optional(),
  // The longest a run may train, from its first start across attempts: past it, it ends as failed,
  // keeping its history, models and checkpoints. The server's MAX_TRAINING_MS bounds it too.
  maxDurationSeconds: z.int().min(1).max(2_147_483).optional(),
});

/** The spec's shape alone, without the rules that need its dataset: how stored specs are shown. */
export const jobSpecShape = baseSpec;

export type JobSpec = z.output<typeof baseSpec>;
export type JobSpecInput = z.input<typeof baseSpec>;
export type LayerSpec = JobSpec['model']['layers'][number];
export type DenseLayerSpec = Extract<LayerSpec, { type: 'dense' }>;
export type Conv2dLayerSpec = Extract<LayerSpec, { type: 'conv2d' }>;
export type PoolLayerSpec = Extract<LayerSpec, { type: 'maxPool2d' | 'avgPool2d' }>;
export type BatchNormalizationLayerSpec = Extract<LayerSpec, { type: 'batchNormalization' }>;
export type WindowSize = Conv2dLayerSpec['kernelSize'];
export type Padding = (typeof paddings)[number];
export type Activation = (typeof activations)[number];
export type OptimizerName = (typeof optimizers)[number];

export interface SpecLimits {
  /** Largest total number of trainable parameters a job may have. */
  maxParameters: number;
  /** Largest estimated memory one job may need while it trains; no limit when absent. */
  maxJobMemoryBytes?: number;
}

/**
 * Why an image layer cannot take a dataset whose examples are flat (a CSV upload), naming the layer and
 * the dataset's shape; undefined when the layer at `index` fails for another reason.
 */
function imageLayerOnFlatDataset(layers: readonly LayerSpec[], index: number, info: DatasetInfo): string | undefined {
  const layer = layers[index];
  const image = info.inputShape.length === 2 || info.inputShape.length === 3;
  if (layer === undefined || image || !isImageLayer(layer)) return undefined;
  return `${layer.type} needs images (height x width x channels) but dataset "${info.name}" has flat examples of shape [${info.inputShape.join(', ')}]: image layers need a dataset of images, such as an IDX upload`;
}

/** Sample counts within the dataset's splits. */
function checkSampleSizes(spec: JobSpec, info: DatasetInfo, context: z.RefinementCtx): void {
  if (spec.trainSamples !== undefined && spec.trainSamples > info.trainSize) {
    context.addIssue({
      code: 'custom',
      path: ['trainSamples'],
      message: `must be at most ${info.trainSize}, the size of the ${info.name} training set`,
    });
  }
  if (spec.testSamples !== undefined && spec.testSamples > info.testSize) {
    context.addIssue({
      code: 'custom',
      path: ['testSamples'],
      message: `must be at most ${info.testSize}, the size of the ${info.name} test set`,
    });
  }
}

/** The rules that depend on the dataset (sizes, output units, parameters, memory) and the limits. */
function checkAgainstDataset(spec: JobSpec, info: DatasetInfo, specLimits: SpecLimits, context: z.RefinementCtx): void {
  checkSampleSizes(spec, info, context);
  checkValidation(spec, info.trainSize, context);
  const layers = spec.model.layers;
  if (layers.length === 0) return;
  const lastIndex = layers.length - 1;
  const last = layers[lastIndex];
  if (last?.type !== 'dense') {
    context.addIssue({
      code: 'custom',
      path: ['model', 'layers', lastIndex],
      message: `the model must end with a dense layer of ${info.numClasses} units (one logit per ${info.name} class)`,
    });
    return;
  }
  if (last.units !== info.numClasses) {
    context.addIssue({
      code: 'custom',
      path: ['model', 'layers', lastIndex, 'units'],
      message: `the last dense layer must have ${info.numClasses} units, one per ${info.name} class; got ${last.units}`,
    });
  }
  const walked = walkShapes(layers, info.inputShape);
  if (!walked.ok) {
    context.addIssue({
      code: 'custom',
      path: ['model', 'layers', walked.index],
      message: imageLayerOnFlatDataset(layers, walked.index, info) ?? walked.message,
    });
    return;
  }
  const parameters = countParameters(layers, info.inputShape);
  if (parameters > specLimits.maxParameters) {
    context.addIssue({
      code: 'custom',
      path: ['model', 'layers'],
      message: `the model has ${parameters.toLocaleString('en-US')} parameters; the limit is ${specLimits.maxParameters.toLocaleString('en-US')}`,
    });
    return;
  }
  const memory = estimateTrainingBytes(spec, info);
  if (specLimits.maxJobMemoryBytes !== undefined && memory > specLimits.maxJobMemoryBytes) {
    context.addIssue({
      code: 'custom',
      path: ['batchSize'],
      message: `training this model at batch size ${spec.batchSize} needs about ${formatBytes(memory)}; the limit is ${formatBytes(specLimits.maxJobMemoryBytes)} (use a smaller batchSize or model)`,
    });
  }
}

type JobSpecSchema = ReturnType<typeof refinedSpec>;

// zod compiles a schema on its first parses, which costs far more than a parse: each limits and
// dataset pair builds its schema once (and a stored spec is read back on every job read).
const builtSchemas = new WeakMap<
  SpecLimits,
  { bundled?: JobSpecSchema; byDataset: WeakMap<DatasetInfo, JobSpecSchema> }
>();

/**
 * The one job-spec schema: shape rules plus the rules that depend on the dataset and the limits.
 * The dataset is `dataset` when the spec names it, else the bundled one of the spec's name; a spec
 * naming neither gets an issue on `dataset`. Uploaded datasets live in the store, so the caller
 * looks one up (asynchronously) by `requestedDatasetName` first and passes it in.
 */
export function jobSpecSchema(specLimits: SpecLimits, dataset?: DatasetInfo) {
  const built = builtSchemas.get(specLimits) ?? { byDataset: new WeakMap<DatasetInfo, JobSpecSchema>() };
  builtSchemas.set(specLimits, built);
  if (dataset === undefined) return (built.bundled ??= refinedSpec(specLimits));
  const schema = built.byDataset.get(dataset) ?? refinedSpec(specLimits, dataset);
  built.byDataset.set(dataset, schema);
  return schema;
}

function refinedSpec(specLimits: SpecLimits, dataset?: DatasetInfo) {
  return baseSpec.superRefine((spec, context) => {
    const info = dataset?.name === spec.dataset ? dataset : bundledDataset(spec.dataset);
    if (!info) {
      context.addIssue({
        code: 'custom',
        path: ['dataset'],
        message: `there is no dataset called "${spec.dataset}" (bundled: ${datasetNames.join(', ')}; GET /datasets lists every one)`,
      });
      return;
    }
    checkAgainstDataset(spec, info, specLimits, context);
  });
}

/** The dataset a raw, not yet validated body asks for (`mnist` when it names none). */
export function requestedDatasetName(input: unknown): string {
  if (input && typeof input === 'object' && 'dataset' in input && typeof input.dataset === 'string') {
    return input.dataset;
  }
  return 'mnist';
}

/** The validation split and early-stopping rules: one way to size it, some examples left to train on. */
function checkValidation(spec: JobSpec, trainSize: number, context: z.RefinementCtx): void {
  if (spec.validationSamples !== undefined && spec.validationFraction !== undefined) {
    context.addIssue({
      code: 'custom',
      path: ['validationFraction'],
      message: 'give validationSamples or validationFraction, not both',
    });
  }
  const pool = Math.min(spec.trainSamples ?? trainSize, trainSize);
  if (spec.validationSamples !== undefined && spec.validationSamples >= pool) {
    context.addIssue({
      code: 'custom',
      path: ['validationSamples'],
      message: `must be less than the ${pool} training examples it is held out of`,
    });
  }
  const metric = spec.earlyStopping?.metric;
  const validated = spec.validationSamples !== undefined || spec.validationFraction !== undefined;
  if (metric?.startsWith('validation') && !validated) {
    context.addIssue({
      code: 'custom',
      path: ['earlyStopping', 'metric'],
      message: `${metric} needs a validation split: give validationSamples or validationFraction`,
    });
  }
}

export interface SpecIssue {
  path: string;
  message: string;
}

export type SpecParseResult = { ok: true; spec: JobSpec } | { ok: false; issues: SpecIssue[] };

/** zod issues as spec issues: dotted paths, one entry per unknown key, and a plain word for a missing field. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): SpecIssue[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // One entry per unknown key, naming it, rather than one entry for the object holding them.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'unknown field' }));
    }
    const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
    return [{ path: path.join('.') || '(body)', message: missing ? `is required (${issue.expected})` : issue.message }];
  });
}

/**
 * Validates untrusted input into a spec with every default filled in, or lists every problem.
 * `dataset`: the dataset the input names, when it is not a bundled one (see `jobSpecSchema`).
 */
export function parseJobSpec(input: unknown, specLimits: SpecLimits, dataset?: DatasetInfo): SpecParseResult {
  const parsed = jobSpecSchema(specLimits, dataset).safeParse(input);
  if (parsed.success) return { ok: true, spec: parsed.data };
  return { ok: false, issues: describeIssues(parsed.error.issues) };
}

/**
 * A spec as the store keeps it: parsed, every default filled in, and the server-filled `seed` present
 * (the API draws one for a spec without it; a stored spec written without one trains with seed 0).
 */
export type StoredJobSpec = Omit<JobSpec, 'seed'> & { seed: number };

export type StoredSpecParseResult = { ok: true; spec: StoredJobSpec } | { ok: false; issues: SpecIssue[] };

/** The spec a new job is stored with: the seed it will train with is written out. */
export function toStoredJobSpec(spec: JobSpec): StoredJobSpec {
  return { ...spec, seed: spec.seed ?? 0 };
}

const unlimited: SpecLimits = { maxParameters: Number.MAX_SAFE_INTEGER };

/**
 * Reads back a spec the store holds. It was validated at submission; this checks its shape and the
 * rules of a bundled dataset again (a row from an older version may no longer fit them) but not the
 * resource limits, which are admission policy and may have changed since the job was accepted. An
 * uploaded dataset's rules were checked at submission; that dataset may be gone since (deleting it
 * leaves finished jobs readable), so only the shape is checked.
 */
export function parseStoredJobSpec(stored: unknown): StoredSpecParseResult {
  const name = requestedDatasetName(stored);
  const parsed = bundledDataset(name) ? parseJobSpec(stored, unlimited) : shapeOnly(stored);
  return parsed.ok ? { ok: true, spec: toStoredJobSpec(parsed.spec) } : parsed;
}

function shapeOnly(input: unknown): SpecParseResult {
  const parsed = baseSpec.safeParse(input);
  return parsed.success ? { ok: true, spec: parsed.data } : { ok: false, issues: describeIssues(parsed.error.issues) };
}

/**
 * The part of a stored spec a run's summary shows (its model, dataset and training parameters), read
 * without the rest: what the spec's own shape makes of those fields, defaults filled in.
 */
export const runSpecShape = baseSpec.pick({
  dataset: true,
  model: true,
  epochs: true,
  learningRate: true,
  batchSize: true,
  optimizer: true,
});
export type RunSpec = z.output<typeof runSpecShape>;

/** Spec problems as one line: `path: message; path: message`. */
export function describeSpecIssues(issues: readonly SpecIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
}
