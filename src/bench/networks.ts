import type { JobSpecInput } from '../domain/job-spec.js';

const dense = (units: number, activation: 'relu' | 'linear' = 'relu') => ({
  type: 'dense' as const,
  units,
  activation,
});

/** The two networks of the original exercise. */
export const networks = {
  mlp: { label: '784-512-512-10', layers: [dense(512), dense(512), dense(10, 'linear')] },
  deep: {
    label: '784-512-1024-512-128-10',
    layers: [dense(512), dense(1024), dense(512), dense(128), dense(10, 'linear')],
  },
} satisfies Record<string, { label: string; layers: JobSpecInput['model']['layers'] }>;

export type NetworkName = keyof typeof networks;

/** The original exercise's training settings on `trainSamples` examples. */
export function exerciseSpec(
  network: NetworkName,
  trainSamples: number,
  testSamples: number,
  epochs = 1,
): JobSpecInput {
  return {
    name: `bench ${networks[network].label}`,
    seed: 1,
    trainSamples,
    testSamples,
    epochs,
    learningRate: 0.01,
    batchSize: 64,
    optimizer: 'sgd',
    model: { layers: networks[network].layers },
  };
}
