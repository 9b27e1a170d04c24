import { describe, expect, it } from 'vitest';
import { parseSweepSpec } from '../../../src/domain/sweeps/parse-sweep.js';
import { smallSpec } from '../../helpers/specs.js';

const limits = { maxParameters: 20_000_000 };

function sweep(overrides: Record<string, unknown> = {}) {
  return {
    name: 'lr-width',
    seed: 5,
    base: smallSpec({ epochs: 4, validationFraction: 0.1 }),
    method: 'grid',
    parameters: {
      learningRate: { values: [0.01, 0.1, 0.5] },
      batchSize: { values: [32, 128] },
      'model.layers[0].units': { values: [16, 64] },
    },
    maxParallel: 2,
    objective: { metric: 'validationAccuracy', goal: 'maximize' },
    earlyTermination: { type: 'asha', minEpochs: 1, reductionFactor: 2 },
    ...overrides,
  };
}

function parsed(input: unknown) {
  const result = parseSweepSpec(input, limits);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result;
}

function issues(input: unknown) {
  const result = parseSweepSpec(input, limits);
  if (result.ok) throw new Error('expected the sweep to be rejected');
  return result.issues;
}

describe('sweep spec: grid', () => {
  it('enumerates exactly the product of the values, first parameter slowest, each a valid job spec', () => {
    const { configs } = parsed(sweep());
    expect(configs).toHaveLength(3 * 2 * 2);
    const seen = configs.map((config) => config.parameters);
    const expected = [0.01, 0.1, 0.5].flatMap((learningRate) =>
      [32, 128].flatMap((batchSize) =>
        [16, 64].map((units) => ({ learningRate, batchSize, 'model.layers[0].units': units })),
      ),
    );
    expect(seen).toEqual(expected);
    expect(configs.map((config) => config.index)).toEqual([...Array(12).keys()]);
    for (const config of configs) {
      expect(config.spec.learningRate).toBe(config.parameters.learningRate);
      expect(config.spec.batchSize).toBe(config.parameters.batchSize);
      expect(config.spec.model.layers[0]).toEqual({
        type: 'dense',
        units: config.parameters['model.layers[0].units'],
        activation: 'relu',
      });
      expect(config.spec.seed).toBe(7);
    }
  });

  it('rejects a grid larger than maxRuns, naming maxRuns', () => {
    expect(issues(sweep({ maxRuns: 11 }))).toEqual([
      { path: 'maxRuns', message: 'the grid has 12 configurations, more than maxRuns (11)' },
    ]);
    expect(parsed(sweep({ maxRuns: 12 })).configs).toHaveLength(12);
  });

  it('names the parameter with an unknown path, a malformed one, or a value a job would reject', () => {
    const problems = issues(
      sweep({
        parameters: {
          learningRat: { values: [0.1] },
          'model.layers[5].units': { values: [8] },
          'model..units': { values: [8] },
          batchSize: { values: [32, 0] },
          'model.layers[1].units': { values: [10, 12] },
        },
      }),
    );
    expect(problems.map((problem) => problem.path)).toEqual([
      'parameters.learningRat',
      'parameters.model.layers[5].units',
      'parameters.model..units',
      'parameters.batchSize',
      'parameters.model.layers[1].units',
    ]);
    expect(problems[0]?.message).toMatch(/unknown path: learningRat is not a field of a job spec/);
    expect(problems[1]?.message).toMatch(/unknown path: model.layers has no element 5/);
    expect(problems[3]?.message).toMatch(/value 0 is rejected: batchSize/);
    expect(problems[4]?.message).toMatch(/value 12 is rejected: .*the last dense layer must have 10 units/);
  });

  it('rejects a distribution in a grid, a bad base, and a validation objective without a split', () => {
    expect(
      issues(sweep({ parameters: { learningRate: { distribution: 'uniform', min: 0.1, max: 0.2 } } }))[0]?.path,
    ).toBe('parameters.learningRate');
    expect(issues(sweep({ base: smallSpec({ epochs: 0 }) }))[0]?.path).toBe('base.epochs');
    expect(issues(sweep({ base: smallSpec({ epochs: 4 }) }))).toEqual([
      {
        path: 'objective.metric',
        message: 'validationAccuracy needs a validation split in every run (validationSamples or validationFraction)',
      },
    ]);
  });
});

describe('sweep spec: random', () => {
  const random = (overrides: Record<string, unknown> = {}) =>
    sweep({
      method: 'random',
      maxRuns: 200,
      parameters: {
        learningRate: { distribution: 'logUniform', min: 0.001, max: 1 },
        'model.layers[0].units': { distribution: 'intUniform', min: 8, max: 12 },
        'model.layers[0].activation': { values: ['relu', 'tanh'] },
        validationFraction: { distribution: 'uniform', min: 0.1, max: 0.2 },
      },
      ...overrides,
    });

  it('is reproducible by seed: the same seed gives the same configurations in the same order', () => {
    const first = parsed(random()).configs.map((config) => config.parameters);
    expect(parsed(random()).configs.map((config) => config.parameters)).toEqual(first);
    expect(parsed(random({ seed: 6 })).configs.map((config) => config.parameters)).not.toEqual(first);
  });

  it('keeps every draw within its bounds, integers whole, and log-uniform uniform in log space', () => {
    const configs = parsed(random()).configs;
    const rates = configs.map((config) => config.spec.learningRate);
    for (const rate of rates) expect(rate >= 0.001 && rate <= 1).toBe(true);
    // Log-uniform on [1e-3, 1]: about a third of the draws in each decade.
    const decades = [0, 0, 0];
    for (const rate of rates) decades[Math.min(2, Math.floor(-Math.log10(rate)))]! += 1;
    for (const count of decades) expect(count).toBeGreaterThan(200 / 3 - 25);
    const units = new Set(
      configs.map((config) => config.spec.model.layers[0]?.type === 'dense' && config.spec.model.layers[0].units),
    );
    expect([...units].sort()).toEqual([10, 11, 12, 8, 9].sort());
    for (const config of configs) {
      const fraction = config.spec.validationFraction as number;
      expect(fraction >= 0.1 && fraction <= 0.2).toBe(true);
    }
    expect(new Set(configs.map((config) => config.parameters['model.layers[0].activation']))).toEqual(
      new Set(['relu', 'tanh']),
    );
  });

  it('needs maxRuns, a positive log-uniform min and integer intUniform bounds', () => {
    expect(issues(random({ maxRuns: undefined }))).toEqual([
      { path: 'maxRuns', message: 'a random sweep needs maxRuns' },
    ]);
    expect(issues(random({ parameters: { learningRate: { distribution: 'logUniform', min: 0, max: 1 } } }))[0]).toEqual(
      { path: 'parameters.learningRate', message: 'logUniform needs min greater than 0' },
    );
    expect(
      issues(random({ parameters: { batchSize: { distribution: 'intUniform', min: 1.5, max: 4 } } }))[0]?.message,
    ).toBe('intUniform needs integer min and max');
    expect(
      issues(random({ parameters: { learningRate: { distribution: 'uniform', min: 0.5, max: 20 } } }))[0]?.message,
    ).toMatch(/value 20 is rejected: learningRate/);
  });
});
