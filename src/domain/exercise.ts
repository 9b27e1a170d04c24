import type { JobSpecInput } from './job-spec.js';

type LayersInput = JobSpecInput['model']['layers'];

const dense = (units: number, activation: 'relu' | 'linear' = 'relu') => ({
  type: 'dense' as const,
  units,
  activation,
});

/** The two networks of the original MNIST exercise, by short name, each with its architecture as a label. */
export const exerciseNetworks = {
  mlp: { label: '784-512-512-10', layers: [dense(512), dense(512), dense(10, 'linear')] },
  deep: {
    label: '784-512-1024-512-128-10',
    layers: [dense(512), dense(1024), dense(512), dense(128), dense(10, 'linear')],
  },
} satisfies Record<string, { label: string; layers: LayersInput }>;

export type ExerciseNetwork = keyof typeof exerciseNetworks;

/** The networks' short names, in the exercise's order. */
export const exerciseNetworkNames = Object.keys(exerciseNetworks) as ExerciseNetwork[];

/** The exercise's training settings: 3 epochs of SGD at learning rate 0.01 in batches of 64. */
export const exerciseTraining = {
  epochs: 3,
  learningRate: 0.01,
  batchSize: 64,
  optimizer: 'sgd',
} as const satisfies Partial<JobSpecInput>;

/**
 * A job training `network` with the exercise's settings, named e.g. `mlp 784-512-512-10`;
 * `overrides` (name, tags, seed, epochs, sample counts) replace those fields.
 */
export function exerciseSpec(network: ExerciseNetwork, overrides: Partial<JobSpecInput> = {}): JobSpecInput {
  const { label, layers } = exerciseNetworks[network];
  return {
    name: `${network} ${label}`,
    model: { layers: layers.map((layer) => ({ ...layer })) },
    ...exerciseTraining,
    ...overrides,
  };
}
