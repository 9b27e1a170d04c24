import { exerciseNetworks, exerciseSpec, type ExerciseNetwork } from '../domain/exercise.js';
import type { JobSpecInput } from '../domain/job-spec.js';

export type NetworkName = ExerciseNetwork;

/** The original exercise's network and settings on `trainSamples` examples, for `epochs` (1 unless given), seed 1. */
export function benchSpec(network: NetworkName, trainSamples: number, testSamples: number, epochs = 1): JobSpecInput {
  return exerciseSpec(network, {
    name: `bench ${exerciseNetworks[network].label}`,
    seed: 1,
    trainSamples,
    testSamples,
    epochs,
  });
}
