import { describe, expect, it } from 'vitest';
import { architectureOf, describeLayer } from '../../src/domain/architecture.js';
import { estimateTrainingBytes } from '../../src/domain/memory.js';
import {
  parseJobSpec,
  type JobSpec,
  type JobSpecInput,
  type LayerSpec,
  type SpecIssue,
} from '../../src/domain/job-spec.js';
import { countParameters, layerShapes, specParameterCount } from '../../src/domain/model-shape.js';
import { mlpLayers, smallSpec } from '../helpers/specs.js';
import { datasets, type DatasetInfo } from '../../src/domain/datasets.js';

const mnist: DatasetInfo = datasets.mnist;

const limits = { maxParameters: 20_000_000 };

const lenet = [
  { type: 'conv2d', filters: 32, kernelSize: 3, activation: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'conv2d', filters: 64, kernelSize: 3, activation: 'relu' },
  { type: 'maxPool2d', poolSize: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 128, activation: 'relu' },
  { type: 'dense', units: 10 },
] as const;

function parsed(layers: readonly object[], overrides: object = {}): JobSpec {
  const result = parseJobSpec(smallSpec({ model: { layers: layers as never }, ...overrides }), limits);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.spec;
}

function issuesOf(layers: readonly object[]): SpecIssue[] {
  const result = parseJobSpec(smallSpec({ model: { layers: layers as never } }), limits);
  if (result.ok) throw new Error(`expected ${JSON.stringify(layers)} to be rejected`);
  return result.issues;
}

describe('image layers in the job spec', () => {
  it('fills in defaults: strides 1 and valid padding for conv2d, strides = poolSize for pools, PyTorch batch norm', () => {
    const spec = parsed([
      { type: 'conv2d', filters: 4, kernelSize: [3, 5] },
      { type: 'batchNormalization' },
      { type: 'avgPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 10 },
    ]);
    expect(spec.model.layers).toEqual([
      { type: 'conv2d', filters: 4, kernelSize: [3, 5], strides: 1, padding: 'valid', activation: 'linear' },
      { type: 'batchNormalization', momentum: 0.9, epsilon: 1e-5 },
      { type: 'avgPool2d', poolSize: 2, padding: 'valid' },
      { type: 'flatten' },
      { type: 'dense', units: 10, activation: 'linear' },
    ]);
    const shapes = layerShapes(spec.model.layers, [28, 28, 1]).map((layer) => layer.output);
    expect(shapes).toEqual([[26, 24, 4], [26, 24, 4], [13, 12, 4], [624], [10]]);
  });

  it('walks the LeNet shapes and counts its parameters as PyTorch does', () => {
    const spec = parsed(lenet);
    expect(layerShapes(spec.model.layers, [28, 28, 1]).map((layer) => layer.output)).toEqual([
      [26, 26, 32],
      [13, 13, 32],
      [11, 11, 64],
      [5, 5, 64],
      [1600],
      [128],
      [10],
    ]);
    // conv 3*3*1*32+32, conv 3*3*32*64+64, dense 1600*128+128, dense 128*10+10.
    expect(specParameterCount(spec, mnist)).toBe(320 + 18_496 + 204_928 + 1_290);
  });

  it('gives same padding ceil(size / stride) and counts batch normalisation by channel', () => {
    const layers: LayerSpec[] = [
      { type: 'conv2d', filters: 8, kernelSize: 5, strides: 2, padding: 'same', activation: 'relu' },
      { type: 'batchNormalization', momentum: 0.9, epsilon: 1e-5 },
      { type: 'maxPool2d', poolSize: 3, strides: 2, padding: 'same' },
    ];
    const shapes = layerShapes(layers, [28, 28, 1]);
    expect(shapes.map((layer) => layer.output)).toEqual([
      [14, 14, 8],
      [14, 14, 8],
      [7, 7, 8],
    ]);
    expect(countParameters(layers, [28, 28, 1])).toBe(5 * 5 * 8 + 8 + 2 * 8);
    expect(shapes[1]?.stateValues).toBe(16);
  });

  it('names the layer and the numbers when a window does not fit', () => {
    const tooSmall = [
      { type: 'conv2d', filters: 4, kernelSize: 5 },
      { type: 'maxPool2d', poolSize: 12 },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 10 },
    ];
    expect(issuesOf(tooSmall)).toEqual([{ path: 'model.layers.3', message: 'poolSize 2 does not fit a 1x1 input' }]);
    expect(issuesOf([{ type: 'conv2d', filters: 4, kernelSize: [15, 3] }, ...tooSmall.slice(1)])).toEqual([
      { path: 'model.layers.2', message: 'poolSize 2 does not fit a 1x2 input' },
    ]);
    expect(
      issuesOf([
        { type: 'maxPool2d', poolSize: 15 },
        { type: 'conv2d', filters: 2, kernelSize: 3 },
        { type: 'flatten' },
        { type: 'dense', units: 10 },
      ]),
    ).toEqual([{ path: 'model.layers.1', message: 'kernelSize 3 does not fit a 1x1 input' }]);
  });

  it('wants a flatten between image layers and dense layers, and image layers before them', () => {
    expect(
      issuesOf([
        { type: 'conv2d', filters: 4, kernelSize: 3 },
        { type: 'dense', units: 10 },
      ]),
    ).toEqual([
      { path: 'model.layers.1', message: 'dense needs a flat input but gets 26x26x4: add a flatten layer before it' },
    ]);
    const [issue] = issuesOf([
      { type: 'dense', units: 32 },
      { type: 'conv2d', filters: 4, kernelSize: 3 },
      { type: 'flatten' },
      { type: 'dense', units: 10 },
    ]);
    expect(issue?.path).toBe('model.layers.1');
    expect(issue?.message).toMatch(/^conv2d needs an image input .* but gets 32 features/);
  });

  it('bounds filters, kernel sizes and strides', () => {
    const conv = (fields: object) => [{ type: 'conv2d', ...fields }, { type: 'flatten' }, { type: 'dense', units: 10 }];
    expect(issuesOf(conv({ filters: 1025, kernelSize: 3 }))[0]?.path).toBe('model.layers.0.filters');
    expect(issuesOf(conv({ filters: 0, kernelSize: 3 }))[0]?.path).toBe('model.layers.0.filters');
    expect(issuesOf(conv({ filters: 4, kernelSize: 16 }))[0]?.path).toMatch(/^model\.layers\.0\.kernelSize/);
    expect(issuesOf(conv({ filters: 4, kernelSize: [3, 0] }))[0]?.path).toMatch(/^model\.layers\.0\.kernelSize/);
    expect(issuesOf(conv({ filters: 4, kernelSize: 3, padding: 'full' }))[0]?.path).toBe('model.layers.0.padding');
    expect(issuesOf(conv({ filters: 4, kernelSize: 3, stride: 2 }))[0]).toEqual({
      path: 'model.layers.0.stride',
      message: 'unknown field',
    });
  });

  it('describes conv models in the architecture string and the layer diff; dense models as before', () => {
    expect(architectureOf(parsed(lenet))).toBe('28x28x1-c32k3-p2-c64k3-p2-f-128-10');
    expect(architectureOf(parsed([...mlpLayers]))).toBe('784-512-512-10');
    const strided = parsed([
      { type: 'conv2d', filters: 8, kernelSize: [5, 3], strides: 2, padding: 'same' },
      { type: 'batchNormalization' },
      { type: 'avgPool2d', poolSize: 2, strides: 1 },
      { type: 'dropout', rate: 0.2 },
      { type: 'flatten' },
      { type: 'dense', units: 10 },
    ]);
    expect(architectureOf(strided)).toBe('28x28x1-c8k5x3s2same-bn-a2s1-f-10');
    expect(strided.model.layers.map(describeLayer)).toEqual([
      'conv2d 8 5x3 linear stride 2x2 same',
      'batchNormalization momentum 0.9 epsilon 0.00001',
      'avgPool2d 2x2 stride 1x1',
      'dropout 0.2',
      'flatten',
      'dense 10 linear',
    ]);
  });

  it("walks an uploaded dataset's shape and refuses image layers on flat examples, naming layer and shape", () => {
    const info = (name: string, inputShape: number[]): DatasetInfo => ({
      ...mnist,
      name,
      description: name,
      inputShape,
      numClasses: 4,
      trainSize: 5000,
      testSize: 1000,
    });
    const layers: JobSpecInput['model']['layers'] = [
      { type: 'conv2d', filters: 2, kernelSize: 3 },
      { type: 'maxPool2d', poolSize: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 4 },
    ];
    const images = info('glyphs', [10, 10, 1]);
    const accepted = parseJobSpec(smallSpec({ dataset: 'glyphs', model: { layers } }), limits, images);
    expect(accepted.ok).toBe(true);
    if (accepted.ok) {
      expect(specParameterCount(accepted.spec, images)).toBe(20 + (4 * 4 * 2 + 1) * 4);
      expect(architectureOf(accepted.spec, images.inputShape)).toBe('10x10x1-c2k3-p2-f-4');
    }
    const flat = info('readings', [16]);
    const refused = parseJobSpec(smallSpec({ dataset: 'readings', model: { layers } }), limits, flat);
    expect(refused.ok ? [] : refused.issues).toEqual([
      {
        path: 'model.layers.0',
        message:
          'conv2d needs images (height x width x channels) but dataset "readings" has flat examples of shape [16]: image layers need a dataset of images, such as an IDX upload',
      },
    ]);
    const dense = parseJobSpec(
      smallSpec({ dataset: 'readings', model: { layers: [{ type: 'dense', units: 4 }] } }),
      limits,
      flat,
    );
    expect(dense.ok).toBe(true);
  });

  it('writes the architecture from the input shape the job recorded, and ? when nothing describes it', () => {
    expect(architectureOf(parsed(lenet), [28, 28])).toBe('28x28x1-c32k3-p2-c64k3-p2-f-128-10');
    expect(architectureOf(parsed([...mlpLayers]), [28, 28, 1])).toBe('784-512-512-10');
    const uploaded = { dataset: 'gone', model: parsed(lenet).model };
    expect(architectureOf(uploaded)).toBe('?-c32k3-p2-c64k3-p2-f-128-10');
    expect(architectureOf(uploaded, [14, 14, 1])).toBe('14x14x1-c32k3-p2-c64k3-p2-f-128-10');
  });

  it('estimates more training memory for activations of bigger images and batches', () => {
    const small = estimateTrainingBytes(parsed(lenet, { batchSize: 64 }), mnist);
    const big = estimateTrainingBytes(parsed(lenet, { batchSize: 256 }), mnist);
    // The unfolded input of the second convolution alone: 11*11*288 floats per example.
    expect(big - small).toBeGreaterThan(192 * 11 * 11 * 288 * 4);
    const wide = estimateTrainingBytes(
      parsed(
        [
          { type: 'conv2d', filters: 1024, kernelSize: 3, padding: 'same' },
          { type: 'flatten' },
          { type: 'dense', units: 10 },
        ],
        {
          batchSize: 512,
        },
      ),
      mnist,
    );
    const limited = parseJobSpec(
      smallSpec({
        batchSize: 512,
        model: {
          layers: [
            { type: 'conv2d', filters: 1024, kernelSize: 3, padding: 'same' },
            { type: 'flatten' },
            { type: 'dense', units: 10 },
          ],
        },
      }),
      { maxParameters: 20_000_000, maxJobMemoryBytes: 2 * 1024 ** 3 },
    );
    expect(wide).toBeGreaterThan(2 * 1024 ** 3);
    expect(limited.ok).toBe(false);
  });
});
