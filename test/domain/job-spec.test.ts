import { describe, expect, it } from 'vitest';
import { datasets } from '../../src/domain/datasets.js';
import { parseJobSpec, type SpecIssue } from '../../src/domain/job-spec.js';
import { countParameters, layerSizes, totalSteps } from '../../src/domain/model-shape.js';
import { mlpLayers, smallSpec } from '../helpers/specs.js';

const limits = { maxParameters: 20_000_000 };

function issuesOf(input: unknown): SpecIssue[] {
  const result = parseJobSpec(input, limits);
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return result.issues;
}

// vitest types asymmetric matchers as `any`; this one stands where an issue's message string goes.
const matching = (pattern: RegExp): string => expect.stringMatching(pattern) as string;

function expectIssue(input: unknown, path: string, message: RegExp): void {
  expect(issuesOf(input)).toContainEqual({ path, message: matching(message) });
}

describe('job spec', () => {
  it('fills in defaults: dataset mnist, optimizer sgd, linear activation', () => {
    const result = parseJobSpec(
      { epochs: 1, learningRate: 0.1, batchSize: 8, model: { layers: [{ type: 'dense', units: 10 }] } },
      limits,
    );
    expect(result).toEqual({
      ok: true,
      spec: {
        dataset: 'mnist',
        optimizer: 'sgd',
        epochs: 1,
        learningRate: 0.1,
        batchSize: 8,
        model: { layers: [{ type: 'dense', units: 10, activation: 'linear' }] },
      },
    });
  });

  it('accepts the original exercise networks and every optimizer and layer type', () => {
    for (const optimizer of ['sgd', 'momentum', 'adam', 'rmsprop'] as const) {
      const spec = smallSpec({
        optimizer,
        model: {
          layers: [
            { type: 'dense', units: 32, activation: 'tanh' },
            { type: 'dropout', rate: 0.5 },
            { type: 'dense', units: 16, activation: 'sigmoid' },
            { type: 'dropout', rate: 0 },
            { type: 'dense', units: 10, activation: 'linear' },
          ],
        },
      });
      expect(parseJobSpec(spec, limits).ok).toBe(true);
    }
    expect(parseJobSpec(smallSpec({ model: { layers: [...mlpLayers] } }), limits).ok).toBe(true);
  });

  it('names unknown fields at any depth', () => {
    expectIssue({ ...smallSpec(), colour: 'red' }, 'colour', /unknown field/);
    expectIssue(
      smallSpec({ model: { layers: [{ type: 'dense', units: 10, bias: false } as never] } }),
      'model.layers.0.bias',
      /unknown field/,
    );
    expectIssue(
      { ...smallSpec(), model: { layers: [{ type: 'dense', units: 10 }], extra: 1 } },
      'model.extra',
      /unknown field/,
    );
  });

  it('requires model, epochs, learningRate and batchSize', () => {
    const issues = issuesOf({});
    expect(issues.map((issue) => issue.path).sort()).toEqual(['batchSize', 'epochs', 'learningRate', 'model']);
    for (const issue of issues) expect(issue.message).toMatch(/required/);
  });

  it('rejects a body that is not an object', () => {
    expectIssue('hello', '(body)', /expected object/);
    expectIssue([1, 2], '(body)', /expected object/);
    expectIssue(null, '(body)', /expected object/);
  });

  it('limits name to 200 characters', () => {
    expectIssue(smallSpec({ name: 'x'.repeat(201) }), 'name', /200/);
    expect(parseJobSpec(smallSpec({ name: 'x'.repeat(200) }), limits).ok).toBe(true);
  });

  it('knows only registered datasets', () => {
    expectIssue(smallSpec({ dataset: 'cifar10' }), 'dataset', /mnist/);
  });

  it('wants an integer seed', () => {
    expectIssue(smallSpec({ seed: 1.5 }), 'seed', /int/);
    expectIssue(smallSpec({ seed: -1 }), 'seed', />=0/);
  });

  it('bounds trainSamples and testSamples by the dataset', () => {
    expectIssue(smallSpec({ trainSamples: 60_001 }), 'trainSamples', /at most 60000/);
    expectIssue(smallSpec({ testSamples: 10_001 }), 'testSamples', /at most 10000/);
    expectIssue(smallSpec({ trainSamples: 0 }), 'trainSamples', />=1/);
    expectIssue(smallSpec({ testSamples: 2.5 }), 'testSamples', /int/);
  });

  it('wants 1 to 32 layers', () => {
    expectIssue(smallSpec({ model: { layers: [] } }), 'model.layers', />=1/);
    expectIssue(
      smallSpec({ model: { layers: Array.from({ length: 33 }, () => ({ type: 'dense', units: 10 }) as const) } }),
      'model.layers',
      /<=32/,
    );
  });

  it('checks each dense layer: units 1..8192 integer, known activation', () => {
    const layers = (first: object) => smallSpec({ model: { layers: [first as never, { type: 'dense', units: 10 }] } });
    expectIssue(layers({ type: 'dense', units: 0 }), 'model.layers.0.units', />=1/);
    expectIssue(layers({ type: 'dense', units: 8193 }), 'model.layers.0.units', /<=8192/);
    expectIssue(layers({ type: 'dense', units: 3.5 }), 'model.layers.0.units', /int/);
    expectIssue(layers({ type: 'dense' }), 'model.layers.0.units', /required/);
    expectIssue(layers({ type: 'dense', units: 8, activation: 'gelu' }), 'model.layers.0.activation', /relu/);
  });

  it('checks dropout rate in [0, 1)', () => {
    const withDropout = (rate: number) =>
      smallSpec({
        model: {
          layers: [
            { type: 'dropout', rate },
            { type: 'dense', units: 10 },
          ],
        },
      });
    expectIssue(withDropout(1), 'model.layers.0.rate', /less than 1/);
    expectIssue(withDropout(-0.1), 'model.layers.0.rate', /at least 0|>=0/);
    expect(parseJobSpec(withDropout(0.99), limits).ok).toBe(true);
  });

  it('rejects unknown layer types', () => {
    expectIssue(
      smallSpec({ model: { layers: [{ type: 'lstm', units: 3 } as never, { type: 'dense', units: 10 }] } }),
      'model.layers.0.type',
      /dense.*dropout.*conv2d.*maxPool2d.*avgPool2d.*flatten.*batchNormalization/,
    );
  });

  it('wants the last layer to be dense with one unit per class', () => {
    expectIssue(
      smallSpec({ model: { layers: [{ type: 'dense', units: 12 }] } }),
      'model.layers.0.units',
      /must have 10 units.*got 12/,
    );
    expectIssue(
      smallSpec({
        model: {
          layers: [
            { type: 'dense', units: 10 },
            { type: 'dropout', rate: 0.2 },
          ],
        },
      }),
      'model.layers.1',
      /end with a dense layer of 10 units/,
    );
  });

  it('bounds epochs, learningRate, batchSize and optimizer', () => {
    expectIssue(smallSpec({ epochs: 0 }), 'epochs', />=1/);
    expectIssue(smallSpec({ epochs: 101 }), 'epochs', /<=100/);
    expectIssue(smallSpec({ epochs: 2.5 }), 'epochs', /int/);
    expectIssue(smallSpec({ learningRate: 0 }), 'learningRate', />0/);
    expectIssue(smallSpec({ learningRate: 10.5 }), 'learningRate', /<=10/);
    expectIssue(smallSpec({ learningRate: '0.1' as never }), 'learningRate', /expected number/);
    expectIssue(smallSpec({ batchSize: 0 }), 'batchSize', />=1/);
    expectIssue(smallSpec({ batchSize: 4097 }), 'batchSize', /<=4096/);
    expectIssue(smallSpec({ optimizer: 'adagrad' as never }), 'optimizer', /sgd/);
    expect(parseJobSpec(smallSpec({ learningRate: 10, batchSize: 4096, epochs: 100 }), limits).ok).toBe(true);
  });

  it('caps the parameter count and reports the computed count', () => {
    const big = smallSpec({
      model: {
        layers: [
          { type: 'dense', units: 8192 },
          { type: 'dense', units: 8192 },
          { type: 'dense', units: 10 },
        ],
      },
    });
    expectIssue(big, 'model.layers', /73,629,706 parameters; the limit is 20,000,000/);
    expect(parseJobSpec(big, { maxParameters: 100_000_000 }).ok).toBe(true);
  });

  it('refuses a job whose training would need more memory than allowed, saying how much', () => {
    const wide = smallSpec({
      batchSize: 4096,
      model: {
        layers: Array.from({ length: 31 }, () => ({ type: 'dense', units: 700 }) as const).concat([
          { type: 'dense', units: 10 },
        ] as never),
      },
    });
    const memoryLimits = { maxParameters: 20_000_000, maxJobMemoryBytes: 512 * 1024 ** 2 };
    const result = parseJobSpec(wide, memoryLimits);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues).toContainEqual({
        path: 'batchSize',
        message: matching(/needs about [\d.]+ (MiB|GiB); the limit is 512.0 MiB/),
      });
    expect(parseJobSpec({ ...wide, batchSize: 64 }, memoryLimits).ok).toBe(true);
    expect(parseJobSpec(smallSpec({ model: { layers: [...mlpLayers] }, trainSamples: 60_000 }), memoryLimits).ok).toBe(
      true,
    );
  });

  it('accepts up to 20 unique tags of up to 50 characters', () => {
    expect(parseJobSpec(smallSpec({ tags: ['a', 'b'] }), limits).ok).toBe(true);
    expectIssue(smallSpec({ tags: ['a', 'a'] }), 'tags', /unique/);
    expectIssue(smallSpec({ tags: Array.from({ length: 21 }, (_, index) => `t${index}`) }), 'tags', /<=20/);
    expectIssue(smallSpec({ tags: ['x'.repeat(51)] }), 'tags.0', /50/);
  });

  it('lists every bad field at once', () => {
    const paths = issuesOf({ ...smallSpec(), epochs: 0, batchSize: -1, optimizer: 'x' }).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['epochs', 'batchSize', 'optimizer']));
  });
});

describe('model shape', () => {
  it('counts parameters of the original exercise networks', () => {
    expect(layerSizes(mlpLayers, 784)).toEqual([784, 512, 512, 10]);
    expect(countParameters(mlpLayers, 784)).toBe(784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10);
    const deep = [512, 1024, 512, 128, 10].map((units) => ({
      type: 'dense' as const,
      units,
      activation: 'relu' as const,
    }));
    expect(countParameters(deep, 784)).toBe(
      784 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 128 + 128 + 128 * 10 + 10,
    );
  });

  it('counts steps as ceil(samples / batch) x epochs', () => {
    const result = parseJobSpec(smallSpec({ trainSamples: 1000, batchSize: 64, epochs: 3 }), limits);
    if (!result.ok) throw new Error('spec rejected');
    expect(totalSteps(result.spec, datasets.mnist)).toBe(16 * 3);
  });
});
