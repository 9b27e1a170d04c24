import { describe, expect, it } from 'vitest';
import { exerciseNetworkNames, exerciseNetworks, exerciseSpec } from '../../src/domain/exercise.js';
import { parseJobSpec } from '../../src/domain/job-spec.js';
import { layerSizes } from '../../src/domain/model-shape.js';

describe('the original exercise', () => {
  it('has the 784-512-512-10 and 784-512-1024-512-128-10 networks, ending in logits', () => {
    expect(exerciseNetworkNames).toEqual(['mlp', 'deep']);
    for (const network of exerciseNetworkNames) {
      const { label, layers } = exerciseNetworks[network];
      expect(layerSizes(layers, 784).join('-')).toBe(label);
      expect(layers.at(-1)).toEqual({ type: 'dense', units: 10, activation: 'linear' });
      expect(layers.slice(0, -1).every((layer) => layer.activation === 'relu')).toBe(true);
    }
  });

  it('trains each for 3 epochs of SGD at 0.01 in batches of 64, under a name with its architecture', () => {
    const parsed = parseJobSpec(exerciseSpec('deep'), { maxParameters: 20_000_000 });
    expect(parsed.ok && parsed.spec).toMatchObject({
      name: 'deep 784-512-1024-512-128-10',
      epochs: 3,
      learningRate: 0.01,
      batchSize: 64,
      optimizer: 'sgd',
      model: { layers: exerciseNetworks.deep.layers },
    });
  });

  it('takes overrides and hands out layers a caller may change without changing the exercise', () => {
    const spec = exerciseSpec('mlp', { name: 'demo', seed: 1, epochs: 1, trainSamples: 1000 });
    expect(spec).toMatchObject({ name: 'demo', seed: 1, epochs: 1, trainSamples: 1000, learningRate: 0.01 });
    const first = spec.model.layers[0];
    if (first?.type === 'dense') first.units = 7;
    expect(exerciseNetworks.mlp.layers[0]?.units).toBe(512);
  });
});
