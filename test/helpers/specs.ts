import { exerciseNetworks } from '../../src/domain/exercise.js';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '../../src/domain/job-spec.js';

/** The original exercise's first network (784-512-512-10). */
export const mlpLayers = exerciseNetworks.mlp.layers;

/** A small, quick job: a narrow network on slices of MNIST. */
export function smallSpec(overrides: Partial<JobSpecInput> = {}): JobSpecInput {
  return {
    name: 'small',
    seed: 7,
    trainSamples: 2000,
    testSamples: 500,
    epochs: 2,
    learningRate: 0.05,
    batchSize: 64,
    model: {
      layers: [
        { type: 'dense', units: 64, activation: 'relu' },
        { type: 'dense', units: 10 },
      ],
    },
    ...overrides,
  };
}

/** `smallSpec(overrides)` as the server stores it: parsed, with defaults filled in. */
export function parsedSmallSpec(overrides: Partial<JobSpecInput> = {}): JobSpec {
  const parsed = parseJobSpec(smallSpec(overrides), { maxParameters: 20_000_000 });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec;
}
