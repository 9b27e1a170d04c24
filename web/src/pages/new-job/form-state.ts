import type { JobSpecInput, LayerSpecInput } from '@trainer/client';
import { exerciseSpec, type ExerciseNetwork, type LayerSpec } from '../../domain';

// The form as text, as typed: a field that is not a number yet goes to the API as it is, so the
// API's 400 names it. From it, the spec to submit and the layers the shape walk reads.

export type LayerType = LayerSpecInput['type'];
type Activation = Extract<LayerSpec, { type: 'dense' }>['activation'];
type Padding = Extract<LayerSpec, { type: 'conv2d' }>['padding'];

/** One layer of the editor: every layer type's fields, so switching the type keeps what was typed. */
export interface LayerRow {
  key: number;
  type: LayerType;
  units: string;
  activation: Activation;
  rate: string;
  filters: string;
  kernelSize: string;
  /** Empty: the layer's default (1 for conv2d, the pool size for pooling). */
  strides: string;
  padding: Padding;
  poolSize: string;
  momentum: string;
  epsilon: string;
}

export interface FormState {
  name: string;
  tags: string;
  dataset: string;
  seed: string;
  trainSamples: string;
  testSamples: string;
  epochs: string;
  learningRate: string;
  batchSize: string;
  optimizer: NonNullable<JobSpecInput['optimizer']>;
  layers: LayerRow[];
  /** Settings the form has no fields for, kept from the run it started from. */
  kept: Pick<JobSpecInput, 'validationSamples' | 'validationFraction' | 'earlyStopping'>;
}

let nextKey = 1;

/** A new layer row of `type`, with the fields of the other types at their usual values. */
export function layerRow(type: LayerType, fields: Partial<Omit<LayerRow, 'key' | 'type'>> = {}): LayerRow {
  return {
    key: nextKey++,
    type,
    units: '128',
    activation: 'relu',
    rate: '0.2',
    filters: '32',
    kernelSize: '3',
    strides: '',
    padding: 'valid',
    poolSize: '2',
    momentum: '0.9',
    epsilon: '0.00001',
    ...fields,
  };
}

const text = (value: number | undefined) => (value === undefined ? '' : String(value));
const windowText = (size: number | readonly number[] | undefined) =>
  size === undefined ? '' : typeof size === 'number' ? String(size) : size.join('x');

function rowOf(layer: LayerSpecInput): LayerRow {
  switch (layer.type) {
    case 'dense':
      return layerRow('dense', { units: String(layer.units), activation: layer.activation ?? 'linear' });
    case 'dropout':
      return layerRow('dropout', { rate: String(layer.rate) });
    case 'conv2d':
      return layerRow('conv2d', {
        filters: String(layer.filters),
        kernelSize: windowText(layer.kernelSize),
        strides: windowText(layer.strides),
        padding: layer.padding ?? 'valid',
        activation: layer.activation ?? 'linear',
      });
    case 'maxPool2d':
    case 'avgPool2d':
      return layerRow(layer.type, {
        poolSize: windowText(layer.poolSize),
        strides: windowText(layer.strides),
        padding: layer.padding ?? 'valid',
      });
    case 'flatten':
      return layerRow('flatten');
    case 'batchNormalization':
      return layerRow('batchNormalization', {
        momentum: text(layer.momentum ?? 0.9),
        epsilon: text(layer.epsilon ?? 1e-5),
      });
  }
}

/** The form showing `spec` (a run's, to run again, or a preset's), under `name`. */
export function fromSpec(spec: JobSpecInput, name: string): FormState {
  const { validationSamples, validationFraction, earlyStopping } = spec;
  return {
    name,
    tags: (spec.tags ?? []).join(', '),
    dataset: spec.dataset ?? 'mnist',
    seed: '',
    trainSamples: text(spec.trainSamples),
    testSamples: text(spec.testSamples),
    epochs: String(spec.epochs),
    learningRate: String(spec.learningRate),
    batchSize: String(spec.batchSize),
    optimizer: spec.optimizer ?? 'sgd',
    layers: spec.model.layers.map(rowOf),
    kept: {
      ...(validationSamples === undefined ? {} : { validationSamples }),
      ...(validationFraction === undefined ? {} : { validationFraction }),
      ...(earlyStopping === undefined ? {} : { earlyStopping }),
    },
  };
}

/** One of the exercise's networks with its training settings; `keep` lends the fields a preset leaves alone. */
export function presetState(network: ExerciseNetwork, keep?: FormState): FormState {
  const spec = exerciseSpec(network);
  return {
    ...fromSpec(spec, spec.name ?? network),
    tags: keep?.tags ?? '',
    dataset: keep?.dataset ?? 'mnist',
    seed: keep?.seed ?? '',
    trainSamples: keep?.trainSamples ?? '',
    testSamples: keep?.testSamples ?? '',
  };
}

/** A number when the text is one; otherwise the text itself, so the API names the field. */
const numeric = (value: string): number | string =>
  value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;

/** A window size: `3` for a square, `3x5` (or `3,5`) for height by width; other text as it is. */
function windowSize(value: string): number | [number, number] | string {
  const pair = /^\s*(\d+)\s*[x,×]\s*(\d+)\s*$/.exec(value);
  return pair ? [Number(pair[1]), Number(pair[2])] : numeric(value);
}

/** How a layer's text fields are read: for submitting, or for walking its shapes. */
interface Reading<Count, Window> {
  number(value: string): Count;
  window(value: string): Window;
}

/** A layer from its row; strides left empty are the layer's default. */
function layerOf<Count, Window>(row: LayerRow, read: Reading<Count, Window>) {
  const strides = row.strides.trim() ? read.window(row.strides) : undefined;
  switch (row.type) {
    case 'dense':
      return { type: 'dense' as const, units: read.number(row.units), activation: row.activation };
    case 'dropout':
      return { type: 'dropout' as const, rate: read.number(row.rate) };
    case 'conv2d':
      return {
        type: 'conv2d' as const,
        filters: read.number(row.filters),
        kernelSize: read.window(row.kernelSize),
        strides: strides ?? 1,
        padding: row.padding,
        activation: row.activation,
      };
    case 'maxPool2d':
    case 'avgPool2d':
      return { type: row.type, poolSize: read.window(row.poolSize), strides, padding: row.padding };
    case 'flatten':
      return { type: 'flatten' as const };
    case 'batchNormalization':
      return {
        type: 'batchNormalization' as const,
        momentum: read.number(row.momentum),
        epsilon: read.number(row.epsilon),
      };
  }
}

const submittedLayer = (row: LayerRow) => layerOf(row, { number: numeric, window: windowSize });

/**
 * The spec to submit. Typed as the API takes it, though a field the person left unparsable goes as
 * the text they typed, for the API's 400 to name.
 */
export function toSpec(form: FormState): JobSpecInput {
  const spec: Record<string, unknown> = {
    model: { layers: form.layers.map(submittedLayer) },
    epochs: numeric(form.epochs),
    learningRate: numeric(form.learningRate),
    batchSize: numeric(form.batchSize),
    optimizer: form.optimizer,
    dataset: form.dataset,
    ...form.kept,
  };
  if (form.name.trim()) spec.name = form.name.trim();
  const tags = form.tags
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
  if (tags.length > 0) spec.tags = tags;
  for (const key of ['seed', 'trainSamples', 'testSamples'] as const)
    if (form[key].trim()) spec[key] = numeric(form[key]);
  return spec as JobSpecInput;
}

const number = (value: string) => (value.trim() === '' ? Number.NaN : Number(value));

function windowNumbers(value: string): number | [number, number] {
  const size = windowSize(value);
  return typeof size === 'string' ? Number.NaN : size;
}

/**
 * The layer as the server will read it, defaults filled in, for the shape walk; a field that is not a
 * number yet is NaN, which makes the walk's shapes and counts NaN rather than wrong.
 */
export const walkedLayer = (row: LayerRow): LayerSpec => layerOf(row, { number, window: windowNumbers });
